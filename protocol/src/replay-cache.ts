import { ProtocolError } from './errors.js';

export interface ReplayCacheOptions {
  /** How far behind a sender's highest sequence number a late message may still arrive. */
  readonly sequenceWindow?: number;
  /**
   * Bound on live message ids remembered per sender (expired ids are evicted first): a sender that
   * fills its own share has its own messages refused, never another sender's.
   */
  readonly maxEntriesPerSender?: number;
}

/** What is remembered about one sender. */
interface SenderRecord {
  /** Message id → when it expires (ms). */
  readonly seen: Map<string, number>;
  highestSequence: number;
}

/**
 * Remembers which messages were accepted, per sender, until they expire: a message id seen before,
 * or a sequence number further behind the sender's highest than the window allows, is a replay.
 * The window tolerates messages signed concurrently and delivered slightly out of order. Each
 * sender has its own bounded record, so one enrolled site flooding signed messages cannot crowd
 * out the others.
 */
export class ReplayCache {
  private readonly senders = new Map<string, SenderRecord>();
  private readonly sequenceWindow: number;
  private readonly maxEntriesPerSender: number;

  constructor(options: ReplayCacheOptions = {}) {
    this.sequenceWindow = options.sequenceWindow ?? 1024;
    this.maxEntriesPerSender = options.maxEntriesPerSender ?? 20_000;
  }

  /** Records the message, or throws REPLAY (or TOO_LARGE when this sender's record is full of live ids). `nowMs` is the caller's clock, for eviction. */
  admit(sender: string, messageId: string, sequence: number, expiresAtMs: number, nowMs: number): void {
    const record = this.senders.get(sender);
    const seenUntil = record?.seen.get(messageId);
    if (seenUntil !== undefined && seenUntil >= nowMs) {
      throw new ProtocolError('REPLAY', `message ${messageId} from ${sender} was already accepted`, { sender, messageId });
    }
    if (record && sequence <= record.highestSequence - this.sequenceWindow) {
      throw new ProtocolError('REPLAY', `sequence ${sequence} from ${sender} is too far behind ${record.highestSequence}`, { sender, sequence });
    }
    if (record && record.seen.size >= this.maxEntriesPerSender) evictExpired(record.seen, nowMs);
    if (record && record.seen.size >= this.maxEntriesPerSender) {
      throw new ProtocolError('TOO_LARGE', `replay cache for ${sender} full (${this.maxEntriesPerSender} live message ids)`, { sender });
    }
    if (!record) {
      this.senders.set(sender, { seen: new Map([[messageId, expiresAtMs]]), highestSequence: sequence });
      return;
    }
    record.seen.set(messageId, expiresAtMs);
    if (sequence > record.highestSequence) record.highestSequence = sequence;
  }

  /** Number of message ids remembered, over all senders. */
  get size(): number {
    let n = 0;
    for (const record of this.senders.values()) n += record.seen.size;
    return n;
  }
}

function evictExpired(seen: Map<string, number>, nowMs: number): void {
  for (const [id, expiresAt] of seen) {
    if (expiresAt < nowMs) seen.delete(id);
  }
}
