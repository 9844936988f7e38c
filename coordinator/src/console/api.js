// The console talks to the coordinator only through the documented REST API (openapi.yaml) and
// the socket.io events of /console/live. The token lives in sessionStorage: gone with the tab.

const TOKEN_KEY = 'lgefed.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** JSON request with the bearer token; errors become ApiError with the server's code and message. */
export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token.get() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const type = res.headers.get('content-type') ?? '';
  const payload = type.includes('application/json') ? await res.json() : await res.text();
  if (!res.ok) {
    const error = payload && payload.error ? payload.error : { code: 'http_' + res.status, message: String(payload) };
    throw new ApiError(res.status, error.code, error.message);
  }
  return payload;
}

/** Fetches an authenticated HTML document (the job report) as a Blob. */
export async function fetchBlob(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token.get() ?? ''}` } });
  if (!res.ok) throw new ApiError(res.status, 'http_' + res.status, await res.text());
  return res.blob();
}
