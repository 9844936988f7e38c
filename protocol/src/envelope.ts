import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { ProtocolError } from './errors.js';
import type { SigningKey, VerificationKey } from './keys.js';
import { MESSAGE_TYPE_NAMES, type MessageTypeName, type MessageTypes } from './messages.generated.js';
import type { ReplayCache } from './replay-cache.js';
import { decodeMessage, encodeMessage } from './schema.js';

/**
 * The signed envelope: a JWS compact serialization (RFC 7515) of the message's protobuf bytes,
 * signed with EdDSA over Ed25519 (RFC 8037), so any JOSE library can verify it.
 */
export type Envelope = string;

/** `typ` of every envelope. */
export const ENVELOPE_TYPE = 'lgefed+jws';

export interface EnvelopeHeader {
  readonly alg: 'EdDSA';
  readonly typ: typeof ENVELOPE_TYPE;
  /** RFC 7638 thumbprint of the sender's public key. */
  readonly kid: string;
  /** Message type carried in the payload. */
  readonly msg: MessageTypeName;
  /** Unique message id (a UUID); acks and error reports refer to it. */
  readonly jti: string;
  /** Issued-at and expiry, NumericDate (seconds since the epoch). */
  readonly iat: number;
  readonly exp: number;
  /** Per-sender sequence number, increasing by one per message. */
  readonly seq: number;
  /** The recipient (a site id), so a message sealed for one site is refused by every other. */
  readonly aud?: string;
}

const HEADER_KEYS: ReadonlySet<string> = new Set(['alg', 'typ', 'kid', 'msg', 'jti', 'iat', 'exp', 'seq', 'aud']);
const MESSAGE_TYPES: ReadonlySet<string> = new Set(MESSAGE_TYPE_NAMES);
/** Longest protected header segment accepted, in base64url characters. */
const MAX_HEADER_CHARS = 1024;
/** An Ed25519 signature is 64 bytes: 86 base64url characters. */
const SIGNATURE_CHARS = 86;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

export interface SignerOptions {
  /** Seconds from issue to expiry; default 300. */
  readonly lifetimeS?: number;
  /** Milliseconds since the epoch; default Date.now. */
  readonly clock?: () => number;
  /**
   * First sequence number. The default derives from the clock (microseconds), so a restarted
   * sender continues above where it left off without storing state.
   */
  readonly firstSequence?: number;
}

export class Signer {
  private nextSequence: number;
  private readonly lifetimeS: number;
  private readonly clock: () => number;

  constructor(
    private readonly key: SigningKey,
    options: SignerOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.lifetimeS = options.lifetimeS ?? 300;
    this.nextSequence = options.firstSequence ?? Math.floor(this.clock() * 1000);
  }

  get kid(): string {
    return this.key.kid;
  }

  /** `audience`: the recipient's id, for a receiver that only accepts messages naming it. */
  async seal<K extends MessageTypeName>(type: K, message: MessageTypes[K], audience?: string): Promise<Envelope> {
    const payload = encodeMessage(type, message);
    const iat = Math.floor(this.clock() / 1000);
    const header: EnvelopeHeader = {
      alg: 'EdDSA',
      typ: ENVELOPE_TYPE,
      kid: this.key.kid,
      msg: type,
      jti: randomUUID(),
      iat,
      exp: iat + this.lifetimeS,
      seq: this.nextSequence++,
      ...(audience === undefined ? {} : { aud: audience }),
    };
    return new jose.CompactSign(payload).setProtectedHeader({ ...header }).sign(this.key.privateKey);
  }
}

/** A sender's identity and one of its pinned keys. */
export interface PinnedSender {
  readonly id: string;
  readonly key: VerificationKey;
}

export interface VerifierOptions {
  readonly senders: readonly PinnedSender[];
  readonly replayCache: ReplayCache;
  /** Largest protobuf payload accepted; default 256 KiB (model weights travel as chunks instead). */
  readonly maxPayloadBytes?: number;
  /** Tolerated clock difference between sender and receiver, seconds; default 60. */
  readonly maxClockSkewS?: number;
  /** Longest validity (exp - iat) accepted, seconds; default 900. */
  readonly maxLifetimeS?: number;
  readonly clock?: () => number;
  /** This receiver's id: every envelope must name it as `aud` (one sealed for another is refused). */
  readonly audience?: string;
}

export interface Opened<K extends MessageTypeName> {
  /** The message type (also `header.msg`): switch on it to narrow `message`. */
  readonly type: K;
  /** The pinned sender id whose key signed it. */
  readonly sender: string;
  readonly header: EnvelopeHeader;
  readonly message: MessageTypes[K];
  /** The verified protobuf bytes (e.g. to digest a ModelManifest). */
  readonly payload: Uint8Array;
}

/** An opened message of any type, discriminated by `type`. */
export type OpenedAny = { [K in MessageTypeName]: Opened<K> }[MessageTypeName];

/**
 * Checks envelopes in order of cost: sizes and structure before any decoding, the algorithm and
 * the pinned key before the signature, validity window, type and replay after it, and only then
 * decodes the payload, strictly.
 */
export class Verifier {
  private readonly keysById = new Map<string, { sender: string; key: VerificationKey }>();
  private readonly replayCache: ReplayCache;
  private readonly maxPayloadBytes: number;
  private readonly maxClockSkewS: number;
  private readonly maxLifetimeS: number;
  private readonly clock: () => number;
  private readonly audience: string | undefined;

  constructor(options: VerifierOptions) {
    for (const sender of options.senders) this.pin(sender);
    this.replayCache = options.replayCache;
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.maxClockSkewS = options.maxClockSkewS ?? 60;
    this.maxLifetimeS = options.maxLifetimeS ?? 900;
    this.clock = options.clock ?? Date.now;
    this.audience = options.audience;
  }

  /** Pins a key for a sender (a sender may have several, e.g. during rotation). */
  pin(sender: PinnedSender): void {
    const existing = this.keysById.get(sender.key.kid);
    if (existing && existing.sender !== sender.id) {
      throw new ProtocolError('INVALID_KEY', `key ${sender.key.kid} is already pinned for sender ${existing.sender}`);
    }
    this.keysById.set(sender.key.kid, { sender: sender.id, key: sender.key });
  }

  /** Forgets every key of a sender. */
  unpin(senderId: string): void {
    for (const [kid, entry] of this.keysById) if (entry.sender === senderId) this.keysById.delete(kid);
  }

  /** Opens an envelope that must carry a message of type `expected`. */
  async open<K extends MessageTypeName>(envelope: unknown, expected: K): Promise<Opened<K>> {
    return (await this.verify(envelope, expected)) as Opened<K>;
  }

  /** Opens an envelope of any type; switch on `type`. */
  async openAny(envelope: unknown): Promise<OpenedAny> {
    return this.verify(envelope, undefined);
  }

  /**
   * Checks size, form and the pinned sender's signature only: no validity window, type, audience
   * or replay state. For a caller that must know a message is genuine before deciding whether to
   * accept it (verifying with `open` records its sequence numbers).
   */
  async checkSignature(envelope: unknown): Promise<void> {
    await this.authenticate(envelope);
  }

  private async authenticate(envelope: unknown): Promise<{ header: EnvelopeHeader; payload: Uint8Array; pinned: { sender: string; key: VerificationKey } }> {
    if (typeof envelope !== 'string') throw new ProtocolError('MALFORMED', 'an envelope must be a JWS compact serialization string');
    const maxPayloadChars = Math.ceil((this.maxPayloadBytes * 4) / 3);
    if (envelope.length > MAX_HEADER_CHARS + maxPayloadChars + SIGNATURE_CHARS + 2) {
      throw new ProtocolError('TOO_LARGE', `envelope of ${envelope.length} characters exceeds the limit`);
    }
    const parts = envelope.split('.');
    if (parts.length !== 3) throw new ProtocolError('MALFORMED', 'a JWS compact serialization has exactly three parts');
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    if (headerPart.length > MAX_HEADER_CHARS) throw new ProtocolError('TOO_LARGE', 'protected header too large');
    if (payloadPart.length > maxPayloadChars) {
      throw new ProtocolError('TOO_LARGE', `payload exceeds ${this.maxPayloadBytes} bytes`, { limit: this.maxPayloadBytes });
    }
    const header = parseHeader(decodeSegment(headerPart, 'header'));
    const pinned = this.keysById.get(header.kid);
    if (!pinned) throw new ProtocolError('UNKNOWN_SENDER', `no sender is pinned for key ${header.kid}`, { kid: header.kid });
    if (signaturePart.length !== SIGNATURE_CHARS) throw new ProtocolError('BAD_SIGNATURE', 'not an Ed25519 signature');
    decodeSegment(signaturePart, 'signature');
    const payload = decodeSegment(payloadPart, 'payload');

    try {
      await jose.compactVerify(envelope, pinned.key.publicKey, { algorithms: ['EdDSA'] });
    } catch (cause) {
      throw new ProtocolError('BAD_SIGNATURE', `signature does not verify for sender ${pinned.sender}`, { sender: pinned.sender }, { cause });
    }
    return { header, payload, pinned };
  }

  private async verify(envelope: unknown, expected: MessageTypeName | undefined): Promise<OpenedAny> {
    const { header, payload, pinned } = await this.authenticate(envelope);

    const nowMs = this.clock();
    const now = nowMs / 1000;
    if (header.exp <= header.iat || header.exp - header.iat > this.maxLifetimeS) {
      throw new ProtocolError('EXPIRED', `validity of ${header.exp - header.iat} s is outside (0, ${this.maxLifetimeS}]`);
    }
    if (header.iat > now + this.maxClockSkewS) throw new ProtocolError('EXPIRED', 'issued in the future beyond the allowed clock skew');
    if (now > header.exp + this.maxClockSkewS) throw new ProtocolError('EXPIRED', `expired at ${new Date(header.exp * 1000).toISOString()}`);
    if (expected !== undefined && header.msg !== expected) {
      throw new ProtocolError('WRONG_TYPE', `expected ${expected}, got ${header.msg}`, { expected, actual: header.msg });
    }
    if (this.audience !== undefined && header.aud !== this.audience) {
      throw new ProtocolError('WRONG_AUDIENCE', `sealed for ${header.aud === undefined ? 'no named recipient' : JSON.stringify(header.aud)}, not for ${JSON.stringify(this.audience)}`);
    }
    this.replayCache.admit(pinned.sender, header.jti, header.seq, (header.exp + this.maxClockSkewS) * 1000, nowMs);
    return { type: header.msg, sender: pinned.sender, header, message: decodeMessage(header.msg, payload), payload } as OpenedAny;
  }
}

/** Strict base64url: only the alphabet, no padding, and no stray bits (one encoding per value). */
function decodeSegment(segment: string, what: string): Uint8Array {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) throw new ProtocolError('MALFORMED', `${what} is not base64url`);
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) throw new ProtocolError('MALFORMED', `${what} is not canonical base64url`);
  return bytes;
}

function parseHeader(bytes: Uint8Array): EnvelopeHeader {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new ProtocolError('MALFORMED', 'protected header is not JSON', {}, { cause });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new ProtocolError('MALFORMED', 'protected header is not a JSON object');
  }
  const h = header as Record<string, unknown>;
  // The algorithm comes first: `none`, HMAC or RSA headers never reach key lookup or jose.
  if (h.alg !== 'EdDSA') throw new ProtocolError('BAD_ALGORITHM', `algorithm ${JSON.stringify(h.alg)} is not allowed (EdDSA only)`);
  for (const key of Object.keys(h)) {
    if (!HEADER_KEYS.has(key)) throw new ProtocolError('MALFORMED', `unexpected protected header parameter '${key}'`);
  }
  if (h.typ !== ENVELOPE_TYPE) throw new ProtocolError('MALFORMED', `typ must be ${ENVELOPE_TYPE}`);
  if (typeof h.kid !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(h.kid)) throw new ProtocolError('MALFORMED', 'kid must be a JWK thumbprint');
  if (typeof h.msg !== 'string' || !MESSAGE_TYPES.has(h.msg)) throw new ProtocolError('MALFORMED', `unknown message type ${JSON.stringify(h.msg)}`);
  if (typeof h.jti !== 'string' || h.jti.length === 0 || h.jti.length > 64) throw new ProtocolError('MALFORMED', 'jti must be a short string');
  if (h.aud !== undefined && (typeof h.aud !== 'string' || h.aud.length === 0 || h.aud.length > 64)) throw new ProtocolError('MALFORMED', 'aud must be a short string');
  for (const key of ['iat', 'exp', 'seq'] as const) {
    const value = h[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new ProtocolError('MALFORMED', `${key} must be a non-negative integer`);
    }
  }
  return h as unknown as EnvelopeHeader;
}
