/**
 * Why the coordinator could not be reached, in words a hospital's IT person can act on: fetch and
 * socket.io report only "fetch failed" / "websocket error" and keep the TLS or network reason in a
 * nested cause.
 */

const UNKNOWN_CA = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);

/** The innermost error carrying a code, following `cause` (fetch) and `description.error` (socket.io over ws). */
function rootCause(err: unknown): (Error & { code?: string }) | undefined {
  let current = err as { code?: unknown; cause?: unknown; description?: { error?: unknown } | unknown } | undefined;
  let found: (Error & { code?: string }) | undefined;
  for (let depth = 0; current && depth < 6; depth++) {
    if (typeof current.code === 'string') found = current as Error & { code?: string };
    const description = current.description as { error?: unknown } | undefined;
    current = (current.cause ?? description?.error ?? (description instanceof Error ? description : undefined)) as typeof current;
  }
  return found;
}

export function describeConnectionError(url: string, err: unknown): string {
  const cause = rootCause(err);
  const code = cause?.code ?? '';
  const detail = cause ? `${code}: ${cause.message}` : (err as Error).message;
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // keep the URL as given
  }
  if (UNKNOWN_CA.has(code)) return `cannot reach ${url}: its TLS certificate is signed by a CA this machine does not trust (unknown CA; give the agent the study's ca.crt, e.g. NODE_EXTRA_CA_CERTS=/etc/lgefed/tls/ca.crt) [${detail}]`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `cannot reach ${url}: its TLS certificate is not for ${host} (name mismatch; use the address the certificate was made for, or remake it with deploy/tls/make-ca.sh naming this one) [${detail}]`;
  if (code === 'CERT_HAS_EXPIRED') return `cannot reach ${url}: its TLS certificate has expired (renew it with deploy/tls/make-ca.sh) [${detail}]`;
  if (code === 'CERT_NOT_YET_VALID') return `cannot reach ${url}: its TLS certificate is not valid yet (check this machine's clock) [${detail}]`;
  if (code === 'ECONNREFUSED') return `cannot reach ${url}: nothing accepts connections at ${host} (connection refused: is the coordinator running, on that port?)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot reach ${url}: the host name does not resolve [${detail}]`;
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `cannot reach ${url}: the connection timed out (firewall?) [${detail}]`;
  return `cannot reach ${url}: ${detail}`;
}
