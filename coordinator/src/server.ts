import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost } from '@lgefed/shared/net/loopback';
import { CoordinatorError } from './errors.js';
import { adminApi } from './http/admin-api.js';
import type { RateLimitOptions } from './http/hardening.js';
import { consoleApi } from './http/console-api.js';
import { ensureShippedModel } from './model-import.js';
import { attachConsoleLive } from './live/console-live.js';
import { ConsoleViews } from './live/console-views.js';
import { openCoordinatorState, type CoordinatorState } from './state.js';
import { SiteChannel, type SiteChannelOptions } from './transport/site-channel.js';
import { JobEngine } from './workflow/engine.js';
import { WORKFLOWS } from './workflow/index.js';
import type { TaskTransport } from './workflow/transport.js';

export interface CoordinatorOptions {
  readonly stateDir: string;
  readonly port: number;
  readonly host?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** Allows plain HTTP on a non-loopback address (admin tokens and kits would cross the network in clear). */
  readonly insecureHttp?: boolean;
  /** The URL sites use; defaults to the listening address. Written into startup kits. */
  readonly publicUrl?: string;
  /** How tasks reach sites; default: the signed socket.io site channel on this server. */
  readonly transport?: TaskTransport;
  readonly siteChannel?: SiteChannelOptions;
  readonly deadlineCheckMs?: number;
  /** Requests to the REST API per client address and window. */
  readonly rateLimit?: RateLimitOptions;
  /** Unreferenced stored weights older than `graceMs` are deleted at start and every `intervalMs` (both default 1 h). */
  readonly modelGc?: { readonly graceMs?: number; readonly intervalMs?: number };
}

/** An upload is registered by the result that follows it within seconds; an hour is far beyond that. */
const MODEL_GC_GRACE_MS = 3600_000;

export interface RunningCoordinator {
  readonly state: CoordinatorState;
  readonly engine: JobEngine;
  readonly url: string;
  readonly server: Server;
  /** The socket.io site channel, unless another transport was given. */
  readonly channel: SiteChannel | undefined;
  close(): Promise<void>;
}

/** Opens the state, resumes unfinished jobs and serves the REST API (HTTPS when given a certificate). */
export async function startCoordinator(options: CoordinatorOptions): Promise<RunningCoordinator> {
  const host = options.host ?? '127.0.0.1';
  if (!options.tlsCert && !isLoopbackHost(host) && !options.insecureHttp) {
    throw new CoordinatorError('invalid_argument', `refusing plain HTTP on ${host}: give --tls-cert and --tls-key, listen on loopback behind a TLS proxy, or pass --insecure-http`);
  }
  const state = await openCoordinatorState(options.stateDir);
  // A chain broken while we were down is recorded (and shouted) before anything is added to it.
  const firstBrokenSeq = state.audit.verify();
  if (firstBrokenSeq !== null) {
    console.error(`audit log: hash chain broken at event ${firstBrokenSeq} (changed outside the coordinator); lgefed admin audit verify reports it until examined`);
    state.audit.append({ actor: 'coordinator', type: 'audit.chain_broken', details: { firstBrokenSeq } });
  }
  await state.models.removeLeftovers();
  await ensureShippedModel(state);
  const channel = options.transport ? undefined : new SiteChannel(state, options.siteChannel);
  const engine = new JobEngine({ ...state, transport: options.transport ?? channel!, workflows: WORKFLOWS });
  let url = '';
  const app = adminApi(state, engine, () => url, channel && ((siteId) => channel.presence(siteId)), {
    tls: Boolean(options.tlsCert),
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
  });
  const views = new ConsoleViews(state, channel && ((siteId) => channel.presence(siteId)));
  app.use(consoleApi({ state, engine, views }));
  // Every API answer is JSON, a wrong path included (express would send an HTML page).
  app.use('/api', (req, res) => void res.status(404).json({ error: { code: 'not_found', message: `no route ${req.method} ${req.originalUrl}` } }));
  const server =
    options.tlsCert && options.tlsKey
      ? createHttpsServer({ cert: await readFile(options.tlsCert), key: await readFile(options.tlsKey) }, app)
      : createHttpServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, resolve);
  });
  await channel?.attach(server, engine);
  const live = attachConsoleLive(server, state, views);
  const address = server.address() as AddressInfo;
  url = options.publicUrl ?? `${options.tlsCert ? 'https' : 'http'}://${address.address}:${address.port}`;
  state.setSetting('public_url', url);
  state.audit.append({ actor: 'coordinator', type: 'coordinator.started', details: { url } });
  await engine.resume();
  const collectModels = () =>
    state.models
      .collectGarbage((hash) => state.jobs.hasModel(hash), options.modelGc?.graceMs ?? MODEL_GC_GRACE_MS)
      .then(({ removed, bytes }) => removed.length > 0 && state.audit.append({ actor: 'coordinator', type: 'models.collected', details: { count: removed.length, bytes, hashes: removed.slice(0, 20) } }))
      .catch((err: Error) => console.error(`model garbage collection failed: ${err.message}`));
  await collectModels();
  const collector = setInterval(() => void collectModels(), options.modelGc?.intervalMs ?? MODEL_GC_GRACE_MS);
  collector.unref();
  const ticker = setInterval(() => void engine.checkDeadlines().catch((err: Error) => console.error(`deadline check failed: ${err.message}`)), options.deadlineCheckMs ?? 1000);
  ticker.unref();
  return {
    state,
    engine,
    url,
    server,
    channel,
    async close() {
      clearInterval(ticker);
      clearInterval(collector);
      // Each socket.io server drops its own clients, then waits for the HTTP server to close, which
      // waits for every connection: closed one after the other, the first would wait on the
      // second's clients (agents kept a SIGTERMed coordinator alive). Both drop theirs first.
      const closing = Promise.all([live.close(), channel?.close()]);
      server.closeAllConnections();
      await closing;
      state.close();
    },
  };
}
