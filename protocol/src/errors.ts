import type { ErrorCode } from './messages.generated.js';

/** Every way a protocol operation can refuse its input; callers switch on `code`. */
export const PROTOCOL_ERROR_CODES = [
  /** The signature does not verify under the sender's pinned key (tampered header, payload or signature). */
  'BAD_SIGNATURE',
  /** The JWS `alg` is not EdDSA (`none`, HMAC and RSA confusion attempts land here). */
  'BAD_ALGORITHM',
  /** The signing key's thumbprint is not pinned for any sender. */
  'UNKNOWN_SENDER',
  /** Outside its validity window (expired, issued in the future beyond the allowed skew, or too long-lived). */
  'EXPIRED',
  /** The message id was seen before, or its sequence number does not advance. */
  'REPLAY',
  /** A valid message of another type than the one expected. */
  'WRONG_TYPE',
  /** A valid message sealed for another recipient (`aud`), e.g. one site's task presented to another. */
  'WRONG_AUDIENCE',
  /** Bigger than the configured limit; refused before decoding or allocating. */
  'TOO_LARGE',
  /** Not a well-formed JWS, header or protobuf encoding of the declared type. */
  'MALFORMED',
  /** A model chunk that is missing, duplicated, corrupt or foreign to its manifest. */
  'CHUNK_MISMATCH',
  /** A tensor holds NaN or infinity, or a value the wire dtype cannot represent. */
  'NON_FINITE',
  /** A key that is not an Ed25519 JWK of the expected kind. */
  'INVALID_KEY',
  /** A private key file readable by other users. */
  'INSECURE_KEY_FILE',
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    /** Machine-readable context, e.g. the chunk index to re-request. */
    readonly details: Readonly<Record<string, unknown>> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Narrows an unknown caught value, optionally to one code. */
export function isProtocolError(err: unknown, code?: ProtocolErrorCode): err is ProtocolError {
  return err instanceof ProtocolError && (code === undefined || err.code === code);
}

/** The ErrorReport code that tells a peer why its message was refused (local key problems are INTERNAL). */
const WIRE_CODES: Readonly<Record<ProtocolErrorCode, ErrorCode>> = {
  BAD_SIGNATURE: 'ERROR_CODE_BAD_SIGNATURE',
  BAD_ALGORITHM: 'ERROR_CODE_BAD_ALGORITHM',
  UNKNOWN_SENDER: 'ERROR_CODE_UNKNOWN_SENDER',
  EXPIRED: 'ERROR_CODE_EXPIRED',
  REPLAY: 'ERROR_CODE_REPLAY',
  WRONG_TYPE: 'ERROR_CODE_WRONG_TYPE',
  // Another recipient's message presented here is a replay across recipients.
  WRONG_AUDIENCE: 'ERROR_CODE_REPLAY',
  TOO_LARGE: 'ERROR_CODE_TOO_LARGE',
  MALFORMED: 'ERROR_CODE_MALFORMED',
  CHUNK_MISMATCH: 'ERROR_CODE_CHUNK_MISMATCH',
  NON_FINITE: 'ERROR_CODE_NON_FINITE',
  INVALID_KEY: 'ERROR_CODE_INTERNAL',
  INSECURE_KEY_FILE: 'ERROR_CODE_INTERNAL',
};

/** ErrorReport code for any caught value: a ProtocolError's mirror, otherwise INTERNAL. */
export function wireErrorCode(err: unknown): ErrorCode {
  return err instanceof ProtocolError ? WIRE_CODES[err.code] : 'ERROR_CODE_INTERNAL';
}
