import { createHash } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';

export interface AgentAuditEntry {
  readonly at: number;
  /** `out` for every message that leaves the site, `in` for refusals of inbound ones. */
  readonly direction: 'out' | 'in';
  /** Message type (`TrainResult`, `chunk`, …) or event (`inbound.rejected`). */
  readonly type: string;
  readonly bytes: number;
  /** sha256 of the exact bytes sent (hex); for a refusal, of what was refused. */
  readonly sha256: string;
  readonly note?: string;
  readonly prevHash: string;
  readonly hash: string;
}

const GENESIS = '0'.repeat(64);

/**
 * The site's own append-only log (JSON lines, hash-chained like the coordinator's): every outbound
 * message by type, size and digest, so a site admin can check what left and match it against the
 * coordinator's log. Appends are serialised so the chain stays linear.
 */
export class AgentAuditLog {
  private tail: Promise<string>;

  constructor(private readonly file: string) {
    this.tail = readFile(file, 'utf8').then(
      (text) => (JSON.parse(text.trimEnd().split('\n').at(-1) ?? '{}') as { hash?: string }).hash ?? GENESIS,
      () => GENESIS,
    );
  }

  record(direction: 'out' | 'in', type: string, content: string | Uint8Array, note?: string): Promise<void> {
    const bytes = typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
    const sha256 = createHash('sha256').update(content).digest('hex');
    const next = this.tail.then(async (prevHash) => {
      const body = { at: Date.now(), direction, type, bytes, sha256, ...(note ? { note } : {}), prevHash };
      const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
      await appendFile(this.file, `${JSON.stringify({ ...body, hash })}\n`, { mode: 0o600 });
      return hash;
    });
    this.tail = next.catch(() => GENESIS);
    return next.then(() => undefined);
  }
}

/** Reads the log back and checks the chain; returns the entries (throws on a broken link). */
export async function readAgentAudit(file: string): Promise<AgentAuditEntry[]> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  let prev = GENESIS;
  return lines.map((line, i) => {
    const entry = JSON.parse(line) as AgentAuditEntry;
    const { hash, ...body } = entry;
    if (entry.prevHash !== prev || createHash('sha256').update(JSON.stringify(body)).digest('hex') !== hash) throw new Error(`${file}: audit chain broken at line ${i + 1}`);
    prev = hash;
    return entry;
  });
}
