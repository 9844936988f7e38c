import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { CoordinatorError } from '../errors.js';
import type { CoordinatorKey } from './coordinator-key.js';

export const ADMIN_ROLES = ['admin', 'viewer'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminIdentity {
  readonly subject: string;
  readonly role: AdminRole;
}

const AUDIENCE = 'lgefed-admin';
const ISSUER = 'lgefed-coordinator';

/** Signs an admin API token (EdDSA JWT) for a person or script, with a role and an expiry. */
export async function issueAdminToken(key: CoordinatorKey, identity: AdminIdentity, ttlSeconds: number): Promise<string> {
  if (!ADMIN_ROLES.includes(identity.role)) throw new CoordinatorError('invalid_argument', `unknown role ${identity.role}; use admin or viewer`);
  if (!(ttlSeconds > 0)) throw new CoordinatorError('invalid_argument', 'token lifetime must be positive');
  return new SignJWT({ role: identity.role })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .setSubject(identity.subject)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + Math.ceil(ttlSeconds))
    .sign(key.privateKey);
}

export async function verifyAdminToken(key: CoordinatorKey, token: string): Promise<AdminIdentity> {
  try {
    const { payload } = await jwtVerify(token, key.publicKey, { audience: AUDIENCE, issuer: ISSUER, algorithms: ['EdDSA'] });
    const role = payload['role'];
    if (typeof payload.sub !== 'string' || !ADMIN_ROLES.includes(role as AdminRole)) {
      throw new CoordinatorError('unauthenticated', 'admin token lacks a subject or a known role');
    }
    return { subject: payload.sub, role: role as AdminRole };
  } catch (err) {
    if (err instanceof CoordinatorError) throw err;
    const reason = err instanceof joseErrors.JWTExpired ? 'admin token expired' : 'admin token invalid';
    throw new CoordinatorError('unauthenticated', reason);
  }
}

/** Admins may do everything; viewers only read. */
export function assertRole(identity: AdminIdentity, needed: AdminRole): void {
  if (needed === 'admin' && identity.role !== 'admin') {
    throw new CoordinatorError('forbidden', `${identity.subject} (${identity.role}) may not do this; admin role required`);
  }
}
