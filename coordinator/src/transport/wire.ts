import { importPublicJwk, isProtocolError, type ErrorCode, type ErrorReport, type SigningKey } from '@lgefed/protocol';
import type { CoordinatorKey } from '../auth/coordinator-key.js';
import { CoordinatorError } from '../errors.js';

export const COORDINATOR_VERSION = '0.1.0';

/** The coordinator's key in the form the protocol's Signer takes. */
export async function coordinatorSigningKey(key: CoordinatorKey): Promise<SigningKey> {
  const verification = await importPublicJwk(key.publicJwk);
  return { kid: verification.kid, privateKey: key.privateKey as SigningKey['privateKey'], publicJwk: verification.publicJwk };
}

/**
 * The `kid` an envelope claims, read without trusting it: it only selects which pinned key the
 * verifier then insists on. Undefined when the header cannot even be read.
 */
export function claimedKid(envelope: unknown): string | undefined {
  if (typeof envelope !== 'string' || envelope.length > 1 << 21) return undefined;
  const header = envelope.slice(0, envelope.indexOf('.'));
  if (header.length === 0 || header.length > 1024) return undefined;
  try {
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** Application error codes sites use in ErrorReport messages (`[code] text`). */
const APPLICATION_CODE = /^\[([a-z][a-z0-9_]*)\] ([\s\S]*)$/;

/** Splits an ErrorReport's message into the site's typed code and its text. */
export function siteErrorOf(report: ErrorReport): { code: string; message: string } {
  const m = APPLICATION_CODE.exec(report.message);
  const fallback = report.code.replace(/^ERROR_CODE_/, '').toLowerCase();
  return m ? { code: m[1]!, message: m[2]! } : { code: fallback, message: report.message };
}

/** The ErrorReport sent back for a refused message. */
export function errorReportFor(err: unknown, relatedMessageId = ''): ErrorReport {
  let code: ErrorCode = 'ERROR_CODE_INTERNAL';
  let message = 'internal error';
  if (isProtocolError(err)) {
    code = `ERROR_CODE_${err.code}` as ErrorCode;
    if (err.code === 'INVALID_KEY' || err.code === 'INSECURE_KEY_FILE') code = 'ERROR_CODE_UNKNOWN_SENDER';
    message = `[${err.code.toLowerCase()}] ${err.message}`;
  } else if (err instanceof CoordinatorError) {
    code = err.code === 'site_revoked' || err.code === 'unauthenticated' || err.code === 'not_found' ? 'ERROR_CODE_UNKNOWN_SENDER' : 'ERROR_CODE_UNSUPPORTED';
    message = `[${err.code}] ${err.message}`;
  } else if (err instanceof TransportError) {
    code = err.wireCode;
    message = `[${err.code}] ${err.message}`;
  }
  return { code, message, relatedMessageId, jobId: '', taskId: '', retryable: false };
}

export type TransportErrorCode = 'hello_required' | 'site_mismatch' | 'protocol_version' | 'unexpected_message' | 'unknown_transfer' | 'upload_incomplete' | 'upload_not_expected' | 'not_representable' | 'site_already_connected';

/** A message the channel refuses for a reason of its own (not a signature or schema failure). */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    readonly wireCode: ErrorCode = 'ERROR_CODE_UNSUPPORTED',
  ) {
    super(message);
  }
}
