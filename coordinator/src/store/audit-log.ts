import { createHash, randomUUID } from 'node:crypto';
import type { Db } from './database.js';

export interface AuditEvent {
  readonly seq: number;
  /** Quoted in messages to sites, so a site's own log can be matched against ours. */
  readonly eventId: string;
  readonly at: number;
  readonly actor: string;
  readonly type: string;
  readonly subject: string | null;
  readonly details: unknown;
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

export interface AuditEntry {
  readonly actor: string;
  readonly type: string;
  readonly subject?: string;
  readonly details?: unknown;
  /** Supplied when the event id must be known before the event is written (e.g. sent to a site). */
  readonly eventId?: string;
}

const GENESIS = '0'.repeat(64);

interface AuditRow {
  seq: number;
  event_id: string;
  at: number;
  actor: string;
  type: string;
  subject: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

function chainHash(prevHash: string, eventId: string, at: number, actor: string, type: string, subject: string | null, details: string): string {
  return createHash('sha256').update(JSON.stringify([prevHash, eventId, at, actor, type, subject, details])).digest('hex');
}

/**
 * Append-only, hash-chained audit log: the schema refuses UPDATE/DELETE, and each event's hash
 * covers the previous one, so a row edited outside SQLite's triggers breaks `verify()`.
 */
export class AuditLog {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  append(entry: AuditEntry): AuditEvent {
    const eventId = entry.eventId ?? randomUUID();
    const at = this.now();
    const details = JSON.stringify(entry.details ?? {});
    const subject = entry.subject ?? null;
    return this.db
      .transaction(() => {
        const last = this.db.prepare('SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { hash: string } | undefined;
        const prevHash = last?.hash ?? GENESIS;
        const hash = chainHash(prevHash, eventId, at, entry.actor, entry.type, subject, details);
        const info = this.db
          .prepare('INSERT INTO audit_log (event_id, at, actor, type, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(eventId, at, entry.actor, entry.type, subject, details, prevHash, hash);
        return { seq: Number(info.lastInsertRowid), eventId, at, actor: entry.actor, type: entry.type, subject, details: JSON.parse(details) as unknown, prevHash, hash };
      })
      .immediate();
  }

  list(filter: { subject?: string; type?: string; afterSeq?: number; limit?: number } = {}): AuditEvent[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM audit_log WHERE seq > ? AND (? IS NULL OR subject = ?) AND (? IS NULL OR type = ?) ORDER BY seq LIMIT ?`,
      )
      .all(filter.afterSeq ?? 0, filter.subject ?? null, filter.subject ?? null, filter.type ?? null, filter.type ?? null, filter.limit ?? 1000) as AuditRow[];
    return rows.map(toEvent);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;
  }

  /** The newest event's place and hash: what a signed job report anchors itself to. */
  head(): AuditHead {
    const last = this.db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    return last ?? { seq: 0, hash: GENESIS };
  }

  /** Recomputes the chain; returns the seq of the first event that does not match, or null if intact. */
  verify(): number | null {
    let prevHash = GENESIS;
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      const expected = chainHash(prevHash, row.event_id, row.at, row.actor, row.type, row.subject, row.details);
      if (row.prev_hash !== prevHash || row.hash !== expected) return row.seq;
      prevHash = row.hash;
    }
    return null;
  }
}

function toEvent(row: AuditRow): AuditEvent {
  return {
    seq: row.seq,
    eventId: row.event_id,
    at: row.at,
    actor: row.actor,
    type: row.type,
    subject: row.subject,
    details: JSON.parse(row.details) as unknown,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
