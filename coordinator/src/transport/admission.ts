import type { AuditEntry } from '../store/audit-log.js';

export interface AdmissionOptions {
  /** Open connections one address may hold at once, authenticated or not; default 32 (sites behind one NAT). */
  readonly maxConnectionsPerAddress?: number;
  /** Refused unauthenticated messages from one address per window before its new connections are dropped unread; default 60 (a revoked agent retrying behind a hospital's NAT must not lock its neighbours out for long). */
  readonly maxRefusalsPerAddress?: number;
  /** The rate window, ms; default 60 000. */
  readonly windowMs?: number;
  /** How long a connection may stay without a verified SiteHello; default 10 000 ms. */
  readonly helloTimeoutMs?: number;
}

interface AddressRefusals {
  windowStart: number;
  total: number;
  /** Codes already audited in this window. */
  readonly audited: Set<string>;
  /** Refusals not audited one by one, by code: written as one row when the window closes. */
  readonly suppressed: Map<string, number>;
}

/**
 * Admission of connections that have not yet proven who they are. Refusing one costs the
 * coordinator no signature and at most one audit row per address, code and window (the rest are
 * counted and written as one summary row), and an address that keeps being refused has its new
 * connections dropped before anything is read. Unauthenticated peers get no reply at all.
 */
export class Admission {
  readonly helloTimeoutMs: number;
  private readonly maxConnections: number;
  private readonly maxRefusals: number;
  private readonly windowMs: number;
  private readonly open = new Map<string, number>();
  private readonly refusals = new Map<string, AddressRefusals>();
  private readonly flusher: NodeJS.Timeout;
  /** Refusals since start, for the operator: every one is counted, audited or not. */
  refusedTotal = 0;

  constructor(
    options: AdmissionOptions,
    private readonly audit: (entry: AuditEntry) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.maxConnections = options.maxConnectionsPerAddress ?? 32;
    this.maxRefusals = options.maxRefusalsPerAddress ?? 60;
    this.windowMs = options.windowMs ?? 60_000;
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    this.flusher = setInterval(() => this.flush(false), this.windowMs);
    this.flusher.unref();
  }

  /** Whether a new connection from `address` is served at all; a refused one is counted, not audited. */
  admit(address: string): boolean {
    const open = this.open.get(address) ?? 0;
    const limited = open >= this.maxConnections ? 'too_many_connections' : this.window(address).total >= this.maxRefusals ? 'rate_limited' : null;
    if (limited) {
      this.refused(address, limited, `connection from ${address} dropped unread`);
      return false;
    }
    this.open.set(address, open + 1);
    return true;
  }

  closed(address: string): void {
    const open = (this.open.get(address) ?? 1) - 1;
    if (open > 0) this.open.set(address, open);
    else this.open.delete(address);
  }

  /** An unauthenticated peer was refused (and is being dropped). */
  refused(address: string, code: string, message: string): void {
    this.refusedTotal++;
    const w = this.window(address);
    w.total++;
    if (w.audited.has(code)) {
      w.suppressed.set(code, (w.suppressed.get(code) ?? 0) + 1);
      return;
    }
    w.audited.add(code);
    this.audit({ actor: 'unauthenticated', type: 'transport.rejected', details: { code, message, remote: address, dropped: true } });
  }

  /** Writes the suppressed counts (of windows that ended, or of all at shutdown). */
  flush(all: boolean): void {
    for (const [address, w] of this.refusals) {
      if (!all && this.now() - w.windowStart < this.windowMs) continue;
      if (w.suppressed.size > 0) {
        this.audit({ actor: 'unauthenticated', type: 'transport.rejected_suppressed', details: { remote: address, counts: Object.fromEntries(w.suppressed), windowMs: this.windowMs } });
      }
      this.refusals.delete(address);
    }
  }

  close(): void {
    clearInterval(this.flusher);
    this.flush(true);
  }

  private window(address: string): AddressRefusals {
    let w = this.refusals.get(address);
    if (w && this.now() - w.windowStart >= this.windowMs) {
      this.flush(false);
      w = undefined;
    }
    if (!w) {
      w = { windowStart: this.now(), total: 0, audited: new Set(), suppressed: new Map() };
      this.refusals.set(address, w);
    }
    return w;
  }
}
