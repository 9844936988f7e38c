import { ProtocolError } from './errors.js';

export interface ReplayCacheOptions {
  /** How far behind a sender's highest sequence number a late message may still arrive. */
  readonly sequenceWindow?: number;
  /** Bound on remembered message ids; expired ids are evicted first. */
  readonly maxEntries?: number;
}

/**
 * Remembers which messages were accepted, per sender, until they expire: a message id seen before,
 * or a sequence number further behind the sender's highest than the window allows, is a replay.
 * The window tolerates messages signed concurrently and delivered slightly out of order.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  private readonly highestSequence = new Map<string, number>();
  private readonly sequenceWindow: number;
  private readonly maxEntries: number;

  constructor(options: ReplayCacheOptions = {}) {
    this.sequenceWindow = options.sequenceWindow ?? 1024;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Records the message, or throws REPLAY. `nowMs` is the caller's clock, for eviction. */
  admit(sender: string, messageId: string, sequence: number, expiresAtMs: number, nowMs: number): void {
    const key = `${sender}\u0000${messageId}`;
    const seenUntil = this.seen.get(key);
    if (seenUntil !== undefined && seenUntil >= nowMs) {
      throw new ProtocolError('REPLAY', `message ${messageId} from ${sender} was already accepted`, { sender, messageId });
    }
    const highest = this.highestSequence.get(sender);
    if (highest !== undefined && sequence <= highest - this.sequenceWindow) {
      throw new ProtocolError('REPLAY', `sequence ${sequence} from ${sender} is too far behind ${highest}`, { sender, sequence });
    }
    if (this.seen.size >= this.maxEntries) this.evictExpired(nowMs);
    if (this.seen.size >= this.maxEntries) {
      throw new ProtocolError('TOO_LARGE', `replay cache full (${this.maxEntries} live message ids)`);
    }
    this.seen.set(key, expiresAtMs);
    if (highest === undefined || sequence > highest) this.highestSequence.set(sender, sequence);
  }

  /** Number of message ids remembered. */
  get size(): number {
    return this.seen.size;
  }

  private evictExpired(nowMs: number): void {
    for (const [key, expiresAt] of this.seen) {
      if (expiresAt < nowMs) this.seen.delete(key);
    }
  }
}
