import { randomUUID } from 'node:crypto';
import { decodeJwt, jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { CoordinatorError } from '../errors.js';
import type { AuditLog } from '../store/audit-log.js';
import type { Db } from '../store/database.js';
import type { CoordinatorKey } from './coordinator-key.js';

export const ADMIN_ROLES = ['admin', 'viewer'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminIdentity {
  readonly subject: string;
  readonly role: AdminRole;
}

/** A token outlives its holder's need for it at most this long: a leaked one expires within a week. */
export const MAX_ADMIN_TOKEN_TTL_S = 7 * 24 * 3600;

const AUDIENCE = 'lgefed-admin';
const ISSUER = 'lgefed-coordinator';

/**
 * Admin API tokens (EdDSA JWTs with an id): signed with the admin-token key, never with the
 * federation identity key sites pin, so nothing a site holds can mint or check one; each issue is
 * audited with its id, and revoked ids are kept in SQLite and refused from then on.
 */
export class AdminTokens {
  constructor(
    private readonly key: CoordinatorKey,
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {}

  async issue(identity: AdminIdentity, ttlSeconds: number, actor = 'cli'): Promise<string> {
    if (!ADMIN_ROLES.includes(identity.role)) throw new CoordinatorError('invalid_argument', `unknown role ${identity.role}; use admin or viewer`);
    if (!(ttlSeconds > 0 && ttlSeconds <= MAX_ADMIN_TOKEN_TTL_S)) {
      throw new CoordinatorError('invalid_argument', `token lifetime must be positive and at most ${MAX_ADMIN_TOKEN_TTL_S / 3600} hours`);
    }
    const id = randomUUID();
    const expiresAt = Math.floor(Date.now() / 1000) + Math.ceil(ttlSeconds);
    const token = await new SignJWT({ role: identity.role })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid })
      .setJti(id)
      .setSubject(identity.subject)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(this.key.privateKey);
    this.audit.append({ actor, type: 'admin.token_issued', subject: id, details: { ...identity, expiresAt: expiresAt * 1000 } });
    return token;
  }

  async verify(token: string): Promise<AdminIdentity> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key.publicKey, { audience: AUDIENCE, issuer: ISSUER, algorithms: ['EdDSA'], maxTokenAge: MAX_ADMIN_TOKEN_TTL_S }));
    } catch (err) {
      throw new CoordinatorError('unauthenticated', err instanceof joseErrors.JWTExpired ? 'admin token expired' : 'admin token invalid');
    }
    const role = payload['role'];
    if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || !ADMIN_ROLES.includes(role as AdminRole)) {
      throw new CoordinatorError('unauthenticated', 'admin token lacks an id, a subject or a known role');
    }
    if (this.db.prepare('SELECT 1 FROM revoked_admin_tokens WHERE token_id = ?').get(payload.jti)) {
      throw new CoordinatorError('unauthenticated', 'admin token revoked');
    }
    return { subject: payload.sub, role: role as AdminRole };
  }

  /** Revokes a token by its id, or by the token itself (its id is read, not trusted: revoking is harmless). */
  revoke(tokenOrId: string, reason: string, actor: string): { tokenId: string; alreadyRevoked: boolean } {
    const tokenId = tokenOrId.includes('.') ? tokenIdOf(tokenOrId) : tokenOrId;
    if (!/^[0-9a-f-]{36}$/.test(tokenId)) throw new CoordinatorError('invalid_argument', 'give a token id (the jti of admin.token_issued) or the token itself');
    return this.db
      .transaction(() => {
        const added = this.db.prepare('INSERT OR IGNORE INTO revoked_admin_tokens (token_id, revoked_at, actor, reason) VALUES (?, ?, ?, ?)').run(tokenId, Date.now(), actor, reason).changes;
        if (added) this.audit.append({ actor, type: 'admin.token_revoked', subject: tokenId, details: { reason } });
        return { tokenId, alreadyRevoked: added === 0 };
      })
      .immediate();
  }
}

function tokenIdOf(token: string): string {
  try {
    const jti = decodeJwt(token).jti;
    if (typeof jti === 'string') return jti;
  } catch {
    // fall through: not a JWT
  }
  throw new CoordinatorError('invalid_argument', 'that token is not an admin token with an id');
}

/** Admins may do everything; viewers only read. */
export function assertRole(identity: AdminIdentity, needed: AdminRole): void {
  if (needed === 'admin' && identity.role !== 'admin') {
    throw new CoordinatorError('forbidden', `${identity.subject} (${identity.role}) may not do this; admin role required`);
  }
}
