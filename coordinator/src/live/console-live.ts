import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { AdminIdentity } from '../auth/admin-tokens.js';
import { CoordinatorError } from '../errors.js';
import { authenticate } from '../http/console-auth.js';
import type { CoordinatorState } from '../state.js';
import type { AuditEvent } from '../store/audit-log.js';
import type { ConsoleViews, JobView, SiteView } from './console-views.js';

/** Where the console's socket.io endpoint lives (the site channel keeps socket.io's default path). */
export const CONSOLE_LIVE_PATH = '/console/live';

/** Server → console events. Each `sites`/`jobs` event is a full snapshot; `audit` carries only new events. */
export interface ConsoleLiveEvents {
  sites: (sites: SiteView[]) => void;
  jobs: (jobs: JobView[]) => void;
  audit: (events: AuditEvent[]) => void;
}

export interface ConsoleLive {
  close(): Promise<void>;
}

export interface ConsoleLiveOptions {
  /** How often snapshots are taken and pushed (only when changed); default 1 s. */
  readonly intervalMs?: number;
  /** Audit events sent to a console when it connects; default 200. */
  readonly auditBacklog?: number;
}

/**
 * Live updates for the console over socket.io, on the coordinator's server: a connection must
 * present an admin token (viewer or admin) in its handshake; it then gets snapshots of sites and
 * jobs whenever they change and every new audit event.
 */
export function attachConsoleLive(server: HttpServer, state: CoordinatorState, views: ConsoleViews, options: ConsoleLiveOptions = {}): ConsoleLive {
  const io = new Server<Record<string, never>, ConsoleLiveEvents, Record<string, never>, { who: AdminIdentity }>(server, {
    path: CONSOLE_LIVE_PATH,
    serveClient: false,
    cors: { origin: false },
    // The site channel shares this HTTP server: leave upgrades on other paths to it.
    destroyUpgrade: false,
  });
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    authenticate(state.adminTokens, typeof token === 'string' ? `Bearer ${token}` : undefined, 'viewer')
      .then((who) => {
        socket.data.who = who;
        next();
      })
      .catch((err: Error) => next(Object.assign(new Error(err.message), { data: { code: err instanceof CoordinatorError ? err.code : 'internal' } })));
  });

  let lastSites = '';
  let lastJobs = '';
  let lastSeq = (state.db.prepare('SELECT MAX(seq) AS seq FROM audit_log').get() as { seq: number | null }).seq ?? 0;
  io.on('connection', (socket) => {
    socket.emit('sites', views.sites());
    socket.emit('jobs', views.jobs());
    const backlog = options.auditBacklog ?? 200;
    socket.emit('audit', state.audit.list({ afterSeq: Math.max(0, lastSeq - backlog), limit: backlog }));
  });

  const tick = () => {
    views.sample();
    if (io.engine.clientsCount === 0) return;
    const sites = views.sites();
    const sitesJson = JSON.stringify(sites);
    if (sitesJson !== lastSites) io.emit('sites', sites);
    lastSites = sitesJson;
    const jobs = views.jobs();
    const jobsJson = JSON.stringify(jobs);
    if (jobsJson !== lastJobs) io.emit('jobs', jobs);
    lastJobs = jobsJson;
    const events = state.audit.list({ afterSeq: lastSeq, limit: 1000 });
    if (events.length > 0) {
      lastSeq = events.at(-1)!.seq;
      io.emit('audit', events);
    }
  };
  const timer = setInterval(() => {
    try {
      tick();
    } catch (err) {
      console.error(`console live update failed: ${(err as Error).message}`);
    }
  }, options.intervalMs ?? 1000);
  timer.unref();

  return {
    async close() {
      clearInterval(timer);
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
