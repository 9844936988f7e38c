// The console talks to the coordinator only through the documented REST API (openapi.yaml) and
// the socket.io events of /console/live. The token lives in localStorage, so every tab of this
// origin is signed in until "Sign out" or a 401 clears it (the token itself expires within 168 h).

export const TOKEN_KEY = 'lgefed.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Why the last 401 signed every tab out, kept so a tab reloaded by it can say so too. */
const SIGNED_OUT_KEY = 'lgefed.signed-out';

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY),
  set: (value) => {
    localStorage.removeItem(SIGNED_OUT_KEY);
    localStorage.setItem(TOKEN_KEY, value);
  },
  clear: () => {
    localStorage.removeItem(SIGNED_OUT_KEY);
    localStorage.removeItem(TOKEN_KEY);
  },
  /** Forgets the token, keeping why: the reason first, as clearing the token reloads the other tabs. */
  refuse: (reason) => {
    localStorage.setItem(SIGNED_OUT_KEY, reason);
    localStorage.removeItem(TOKEN_KEY);
  },
  /** The reason of a 401 sign-out, or undefined after a sign-in or a plain Sign out. */
  signedOutBecause: () => localStorage.getItem(SIGNED_OUT_KEY) ?? undefined,
};

let onUnauthenticated = () => {};
/** What the page does when the coordinator refuses the token (expired, revoked): show the login form. */
export const whenUnauthenticated = (fn) => (onUnauthenticated = fn);

/** A 401 means the stored token is no longer good: forget it, everywhere, and ask again. */
function refused(res, error) {
  if (res.status === 401) {
    const reason = `signed out (${error.code}: ${error.message}): sign in again`;
    token.refuse(reason);
    onUnauthenticated(reason);
  }
  return new ApiError(res.status, error.code, error.message);
}

/** JSON request with the bearer token; errors become ApiError with the server's code and message. */
export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token.get() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const type = res.headers.get('content-type') ?? '';
  const payload = type.includes('application/json') ? await res.json() : await res.text();
  if (!res.ok) throw refused(res, payload && payload.error ? payload.error : { code: 'http_' + res.status, message: String(payload) });
  return payload;
}

/** Fetches an authenticated HTML document (the job report) as text. */
export async function fetchHtml(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token.get() ?? ''}` } });
  if (!res.ok) throw refused(res, { code: 'http_' + res.status, message: await res.text() });
  return res.text();
}
