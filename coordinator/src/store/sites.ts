import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import { assertEd25519PublicJwk } from '../auth/coordinator-key.js';
import { CoordinatorError } from '../errors.js';
import type { AuditLog } from './audit-log.js';
import type { Db } from './database.js';

export type SiteStatus = 'pending' | 'enrolled' | 'revoked';

export interface Site {
  readonly id: string;
  readonly name: string;
  readonly status: SiteStatus;
  readonly publicJwk: JWK | null;
  readonly createdAt: number;
  readonly enrolledAt: number | null;
  readonly revokedAt: number | null;
  readonly revokedReason: string | null;
}

export interface Enrolment {
  readonly site: Site;
  /** Shown once, in the startup kit; only its sha256 is stored. */
  readonly token: string;
  readonly expiresAt: number;
}

interface SiteRow {
  id: string;
  name: string;
  status: SiteStatus;
  public_jwk: string | null;
  created_at: number;
  enrolled_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
}

const SITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Longest an enrolment token may live: a kit is handed over within days, not kept for years. */
const MAX_TOKEN_TTL_MS = 30 * 24 * 3600_000;

const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * Sites and their enrolment: a one-time token (stored hashed, with an expiry; at most one live per
 * site) is exchanged for pinning the agent's own public key; only `rekey` replaces a pinned key;
 * revocation is permanent for that site record.
 */
export class SiteRegistry {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Creates the site if new, or issues a fresh token to one not yet enrolled; the fresh token
   * revokes every earlier one, so a kit that went astray cannot enrol the site later.
   */
  createEnrolment(name: string, ttlMs: number, actor: string): Enrolment {
    if (!SITE_NAME.test(name)) throw new CoordinatorError('invalid_argument', `site name must match ${SITE_NAME} (got ${JSON.stringify(name)})`);
    const now = this.now();
    return this.db
      .transaction(() => {
        let row = this.db.prepare('SELECT * FROM sites WHERE name = ?').get(name) as SiteRow | undefined;
        if (row?.status === 'revoked') throw new CoordinatorError('site_revoked', `site ${name} was revoked; enrol it under a new name`);
        if (row?.status === 'enrolled') throw new CoordinatorError('site_already_enrolled', `site ${name} is already enrolled; re-key it (lgefed admin sites rekey) to replace its key`);
        if (!row) {
          this.db.prepare("INSERT INTO sites (id, name, status, created_at) VALUES (?, ?, 'pending', ?)").run(randomUUID(), name, now);
          row = this.db.prepare('SELECT * FROM sites WHERE name = ?').get(name) as SiteRow;
        }
        return this.issueToken(row, ttlMs, actor, 'site.enrolment_issued');
      })
      .immediate();
  }

  /**
   * Replaces an enrolled site's key: the pinned key is retired at once (every message under it is
   * refused from now on, and it can never be pinned again) and a new one-time token is issued for
   * the key the site makes next.
   */
  rekey(name: string, ttlMs: number, actor: string): Enrolment {
    return this.db
      .transaction(() => {
        const row = this.db.prepare('SELECT * FROM sites WHERE name = ?').get(name) as SiteRow | undefined;
        if (!row) throw new CoordinatorError('not_found', `no site named ${name}`);
        if (row.status !== 'enrolled' || !row.public_jwk) throw new CoordinatorError('conflict', `site ${name} is ${row.status}; only an enrolled site can be re-keyed`);
        const retired = (JSON.parse(row.public_jwk) as JWK).x!;
        this.db.prepare('INSERT INTO retired_site_keys (x, site_id, retired_at) VALUES (?, ?, ?)').run(retired, row.id, this.now());
        this.db.prepare("UPDATE sites SET status = 'pending', public_jwk = NULL, enrolled_at = NULL WHERE id = ?").run(row.id);
        return this.issueToken(row, ttlMs, actor, 'site.rekeyed', { retiredKey: retired });
      })
      .immediate();
  }

  /** An agent presents its token and public key; the key is pinned and the token spent. */
  redeem(token: string, agentPublicJwk: unknown): Site {
    const jwk = assertEd25519PublicJwk(agentPublicJwk);
    return this.db
      .transaction(() => {
        const found = this.db.prepare('SELECT * FROM enrolment_tokens WHERE token_hash = ?').get(hashToken(token)) as
          | { site_id: string; expires_at: number; used_at: number | null; revoked_at: number | null }
          | undefined;
        if (!found) throw new CoordinatorError('token_invalid', 'enrolment token not recognised');
        const site = this.require(found.site_id);
        if (site.status === 'revoked') throw new CoordinatorError('site_revoked', `site ${site.name} has been revoked`);
        if (found.used_at !== null) throw new CoordinatorError('token_used', 'enrolment token was already used');
        if (found.revoked_at !== null) throw new CoordinatorError('token_revoked', 'enrolment token was replaced by a newer one');
        if (found.expires_at <= this.now()) throw new CoordinatorError('token_expired', `enrolment token expired at ${new Date(found.expires_at).toISOString()}`);
        // Never overwrite a pinned key from a token: replacing a key is `rekey`, an admin's act.
        if (site.status !== 'pending') throw new CoordinatorError('site_already_enrolled', `site ${site.name} is already enrolled`);
        const reused = this.db
          .prepare("SELECT 1 FROM retired_site_keys WHERE x = ? UNION ALL SELECT 1 FROM sites WHERE json_extract(public_jwk, '$.x') = ?")
          .get(jwk.x, jwk.x);
        if (reused) throw new CoordinatorError('key_reused', 'this key was retired or belongs to another site; make a new one');
        const now = this.now();
        this.db.prepare('UPDATE enrolment_tokens SET used_at = ? WHERE token_hash = ?').run(now, hashToken(token));
        this.db.prepare("UPDATE sites SET status = 'enrolled', public_jwk = ?, enrolled_at = ? WHERE id = ?").run(JSON.stringify(jwk), now, site.id);
        this.audit.append({ actor: `site:${site.id}`, type: 'site.enrolled', subject: site.id, details: { name: site.name, x: jwk.x } });
        return this.require(site.id);
      })
      .immediate();
  }

  revoke(name: string, reason: string, actor: string): Site {
    return this.db
      .transaction(() => {
        const row = this.db.prepare('SELECT * FROM sites WHERE name = ?').get(name) as SiteRow | undefined;
        if (!row) throw new CoordinatorError('not_found', `no site named ${name}`);
        if (row.status === 'revoked') return toSite(row);
        this.db.prepare("UPDATE sites SET status = 'revoked', revoked_at = ?, revoked_reason = ? WHERE id = ?").run(this.now(), reason, row.id);
        this.audit.append({ actor, type: 'site.revoked', subject: row.id, details: { name, reason } });
        return this.require(row.id);
      })
      .immediate();
  }

  get(id: string): Site | undefined {
    const row = this.db.prepare('SELECT * FROM sites WHERE id = ?').get(id) as SiteRow | undefined;
    return row && toSite(row);
  }

  byName(name: string): Site | undefined {
    const row = this.db.prepare('SELECT * FROM sites WHERE name = ?').get(name) as SiteRow | undefined;
    return row && toSite(row);
  }

  list(): Site[] {
    return (this.db.prepare('SELECT * FROM sites ORDER BY name').all() as SiteRow[]).map(toSite);
  }

  /** The pinned key of an enrolled, unrevoked site: what every message from it must verify under. */
  trustedKey(id: string): JWK {
    const site = this.get(id);
    if (!site) throw new CoordinatorError('not_found', `unknown site ${id}`);
    if (site.status === 'revoked') throw new CoordinatorError('site_revoked', `site ${site.name} has been revoked`);
    if (site.status !== 'enrolled' || !site.publicJwk) throw new CoordinatorError('unauthenticated', `site ${site.name} has not enrolled yet`);
    return site.publicJwk;
  }

  /** Revokes the site's unused tokens and issues the one live token (inside the caller's transaction). */
  private issueToken(row: SiteRow, ttlMs: number, actor: string, type: string, details: Record<string, unknown> = {}): Enrolment {
    if (!(ttlMs > 0 && ttlMs <= MAX_TOKEN_TTL_MS)) throw new CoordinatorError('invalid_argument', `token lifetime must be positive and at most ${MAX_TOKEN_TTL_MS / 3600_000} hours`);
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = now + ttlMs;
    const revoked = this.db.prepare('UPDATE enrolment_tokens SET revoked_at = ? WHERE site_id = ? AND used_at IS NULL AND revoked_at IS NULL').run(now, row.id).changes;
    this.db.prepare('INSERT INTO enrolment_tokens (token_hash, site_id, expires_at) VALUES (?, ?, ?)').run(hashToken(token), row.id, expiresAt);
    this.audit.append({ actor, type, subject: row.id, details: { name: row.name, expiresAt, revokedTokens: revoked, ...details } });
    return { site: this.require(row.id), token, expiresAt };
  }

  private require(id: string): Site {
    const site = this.get(id);
    if (!site) throw new CoordinatorError('not_found', `unknown site ${id}`);
    return site;
  }
}

function toSite(row: SiteRow): Site {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    publicJwk: row.public_jwk ? (JSON.parse(row.public_jwk) as JWK) : null,
    createdAt: row.created_at,
    enrolledAt: row.enrolled_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
  };
}
