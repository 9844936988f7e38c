import type { NextFunction, Request, Response } from 'express';
import { assertRole, type AdminIdentity, type AdminRole, type AdminTokens } from '../auth/admin-tokens.js';
import { CoordinatorError, type CoordinatorErrorCode } from '../errors.js';

/** HTTP status per error code; the same mapping as the admin API's. */
const STATUS: Partial<Record<CoordinatorErrorCode, number>> = {
  invalid_argument: 400,
  unauthenticated: 401,
  token_invalid: 401,
  token_expired: 401,
  forbidden: 403,
  site_revoked: 403,
  not_found: 404,
  conflict: 409,
};

/** The bearer token of a request, or a typed `unauthenticated` error. */
export async function authenticate(tokens: AdminTokens, authorization: string | undefined, role: AdminRole): Promise<AdminIdentity> {
  const header = authorization ?? '';
  if (!header.startsWith('Bearer ')) throw new CoordinatorError('unauthenticated', 'missing bearer token');
  const who = await tokens.verify(header.slice('Bearer '.length));
  assertRole(who, role);
  return who;
}

/** Errors as `{ error: { code, message } }` with the matching status, as the admin API answers them. */
export function sendError(err: unknown, res: Response): void {
  if (err instanceof CoordinatorError) res.status(STATUS[err.code] ?? 500).json({ error: { code: err.code, message: err.message } });
  else if ((err as { type?: string }).type === 'entity.parse.failed') res.status(400).json({ error: { code: 'invalid_argument', message: 'request body is not valid JSON' } });
  else res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
}

type Handler = (req: Request, who: AdminIdentity, res: Response) => Promise<unknown> | unknown;

/** Wraps a handler: checks the role, sends its value as JSON (unless it answered itself), maps errors. */
export function guarded(tokens: AdminTokens, role: AdminRole, handler: Handler) {
  return async (req: Request, res: Response, _next: NextFunction) => {
    try {
      const who = await authenticate(tokens, req.headers.authorization, role);
      const value = await handler(req, who, res);
      if (!res.headersSent) res.json(value);
    } catch (err) {
      sendError(err, res);
    }
  };
}
