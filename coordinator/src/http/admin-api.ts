import express, { type NextFunction, type Request, type Response } from 'express';
import type { AdminIdentity, AdminRole } from '../auth/admin-tokens.js';
import { CoordinatorError, type CoordinatorErrorCode } from '../errors.js';
import type { CoordinatorState } from '../state.js';
import { recordJobRequest } from '../live/job-control.js';
import { buildStartupKit } from '../startup-kit.js';
import { authenticate } from './console-auth.js';
import { hardenHttp, type HttpHardeningOptions } from './hardening.js';
import type { JobEngine } from '../workflow/engine.js';

const STATUS: Partial<Record<CoordinatorErrorCode, number>> = {
  invalid_argument: 400,
  unauthenticated: 401,
  token_invalid: 401,
  token_expired: 401,
  token_used: 409,
  token_revoked: 401,
  key_reused: 409,
  forbidden: 403,
  site_revoked: 403,
  not_found: 404,
  conflict: 409,
  site_already_enrolled: 409,
};

type Handler = (req: Request, who: AdminIdentity | null) => Promise<unknown> | unknown;

/**
 * The REST API: admin routes need a bearer JWT (role admin or viewer); `POST /api/enrol` is the
 * one unauthenticated route, where an agent exchanges its one-time token for pinning its key.
 * Errors come back as `{ error: { code, message } }` with a matching HTTP status.
 */
export function adminApi(
  state: CoordinatorState,
  engine: JobEngine,
  publicUrl: () => string,
  presence?: (siteId: string) => unknown,
  hardening?: HttpHardeningOptions,
): express.Express {
  const app = express();
  hardenHttp(app, hardening);
  app.use(express.json({ limit: '1mb' }));

  const route = (role: AdminRole | null, handler: Handler) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      const who = role ? await authenticate(state.adminTokens, req.headers.authorization, role) : null;
      res.json(await handler(req, who));
    } catch (err) {
      next(err);
    }
  };
  const param = (req: Request, name: string) => String(req.params[name]);

  app.get(
    '/api/sites',
    route('viewer', () => state.sites.list().map(({ publicJwk, ...site }) => ({ ...site, keyPinned: publicJwk !== null, ...(presence ? { presence: presence(site.id) } : {}) }))),
  );
  // A first kit and a re-keying kit are issued alike; only the registry action differs.
  const kitRoute = (path: string, issue: (name: string, ttlMs: number, actor: string) => Parameters<typeof buildStartupKit>[2]): void => {
    app.post(
      path,
      route('admin', (req, who) => {
        const ttlHours = Number((req.body as { ttlHours?: unknown } | undefined)?.ttlHours ?? 72);
        return buildStartupKit(publicUrl(), state.key.publicJwk, issue(param(req, 'name'), ttlHours * 3600_000, `admin:${who!.subject}`));
      }),
    );
  };
  kitRoute('/api/sites/:name/enrolment', (name, ttl, actor) => state.sites.createEnrolment(name, ttl, actor));
  kitRoute('/api/sites/:name/rekey', (name, ttl, actor) => state.sites.rekey(name, ttl, actor));
  app.post(
    '/api/sites/:name/revoke',
    route('admin', (req, who) => state.sites.revoke(param(req, 'name'), String((req.body as { reason?: unknown } | undefined)?.reason ?? 'revoked by admin'), `admin:${who!.subject}`)),
  );
  app.post(
    '/api/enrol',
    route(null, (req) => {
      const body = (req.body ?? {}) as { token?: unknown; publicKey?: unknown };
      if (typeof body.token !== 'string') throw new CoordinatorError('invalid_argument', 'token is required');
      const site = state.sites.redeem(body.token, body.publicKey);
      return { siteId: site.id, siteName: site.name, status: site.status };
    }),
  );
  app.post(
    '/api/admin-tokens/revoke',
    route('admin', (req, who) => {
      const body = (req.body ?? {}) as { token?: unknown; reason?: unknown };
      if (typeof body.token !== 'string') throw new CoordinatorError('invalid_argument', 'token (a token id or the token itself) is required');
      return state.adminTokens.revoke(body.token, String(body.reason ?? 'revoked by admin'), `admin:${who!.subject}`);
    }),
  );
  app.get('/api/jobs', route('viewer', () => state.jobs.jobs()));
  app.get('/api/jobs/:id', route('viewer', (req) => ({ ...state.jobs.job(param(req, 'id')), rounds: state.jobs.rounds(param(req, 'id')) })));
  app.post(
    '/api/jobs',
    route('admin', async (req, who) => {
      const body = (req.body ?? {}) as { kind?: unknown; spec?: unknown };
      if (typeof body.kind !== 'string') throw new CoordinatorError('invalid_argument', `kind is required (one of ${engine.kinds.join(', ')})`);
      const job = await engine.submit(body.kind, body.spec, `admin:${who!.subject}`);
      recordJobRequest(state, job, body.spec, `admin:${who!.subject}`); // kept for re-running it as asked
      return job;
    }),
  );
  app.get(
    '/api/audit/verify',
    route('viewer', () => {
      const firstBrokenSeq = state.audit.verify();
      return { intact: firstBrokenSeq === null, firstBrokenSeq, events: state.audit.count() };
    }),
  );
  app.get('/api/audit', route('viewer', (req) => state.audit.list({ afterSeq: Number(req.query['after'] ?? 0), limit: Math.min(Number(req.query['limit'] ?? 500), 5000) })));

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof CoordinatorError) {
      res.status(STATUS[err.code] ?? 500).json({ error: { code: err.code, message: err.message } });
    } else if ((err as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'invalid_argument', message: 'request body is not valid JSON' } });
    } else {
      res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
    }
  });
  return app;
}
