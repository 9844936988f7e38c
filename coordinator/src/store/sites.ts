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

const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * Sites and their enrolment: a one-time token (stored hashed, with an expiry) is exchanged for
 * pinning the agent's own public key; revocation is permanent for that site record.
 */
export class SiteRegistry {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates the site if new (or issues a fresh token to one not yet enrolled). */
  createEnrolment(name: string, ttlMs: number, actor: string): Enrolment {
    if (!SITE_NAME.test(name)) throw new CoordinatorError('invalid_argument', `site name must match ${SITE_NAME} (got ${JSON.stringify(name)})`);
    if (!(ttlMs > 0)) throw new CoordinatorError('invalid_argument', 'token lifetime must be positive');
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = now + ttlMs;
    return this.db
      .transaction(() => {
        let row = this.db.prepare('SELECT * FROM sites WHERE name = ?').get(name) as SiteRow | undefined;
        if (row?.status === 'revoked') throw new CoordinatorError('site_revoked', `site ${name} was revoked; enrol it under a new name`);
        if (row?.status === 'enrolled') throw new CoordinatorError('site_already_enrolled', `site ${name} is already enrolled; revoke it first to re-provision`);
        if (!row) {
          this.db.prepare("INSERT INTO sites (id, name, status, created_at) VALUES (?, ?, 'pending', ?)").run(randomUUID(), name, now);
          row = this.db.prepare('SELECT * FROM sites WHERE name = ?').get(name) as SiteRow;
        }
        this.db.prepare('INSERT INTO enrolment_tokens (token_hash, site_id, expires_at) VALUES (?, ?, ?)').run(hashToken(token), row.id, expiresAt);
        this.audit.append({ actor, type: 'site.enrolment_issued', subject: row.id, details: { name, expiresAt } });
        return { site: toSite(row), token, expiresAt };
      })
      .immediate();
  }

  /** An agent presents its token and public key; the key is pinned and the token spent. */
  redeem(token: string, agentPublicJwk: unknown): Site {
    const jwk = assertEd25519PublicJwk(agentPublicJwk);
    return this.db
      .transaction(() => {
        const found = this.db.prepare('SELECT * FROM enrolment_tokens WHERE token_hash = ?').get(hashToken(token)) as
          | { site_id: string; expires_at: number; used_at: number | null }
          | undefined;
        if (!found) throw new CoordinatorError('token_invalid', 'enrolment token not recognised');
        const site = this.require(found.site_id);
        if (site.status === 'revoked') throw new CoordinatorError('site_revoked', `site ${site.name} has been revoked`);
        if (found.used_at !== null) throw new CoordinatorError('token_used', 'enrolment token was already used');
        if (found.expires_at <= this.now()) throw new CoordinatorError('token_expired', `enrolment token expired at ${new Date(found.expires_at).toISOString()}`);
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
