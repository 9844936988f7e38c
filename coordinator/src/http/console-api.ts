import express, { type Router } from 'express';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsoleViews } from '../live/console-views.js';
import { cancelJob, rerunJob } from '../live/job-control.js';
import { jobFigures } from '../report/job-figures.js';
import { renderReportHtml } from '../report/html-report.js';
import { attestReport } from '../report/signed-report.js';
import type { CoordinatorState } from '../state.js';
import type { JobEngine } from '../workflow/engine.js';
import { guarded } from './console-auth.js';

export interface ConsoleApiDeps {
  readonly state: CoordinatorState;
  readonly engine: JobEngine;
  readonly views: ConsoleViews;
}

/** The console's page code and styles (served as files, no bundler). */
const CONSOLE_DIR = fileURLToPath(new URL('../../src/console/', import.meta.url));

/** The root folder of an installed package, found through Node's own resolution of its entry point. */
export function packageRoot(name: string): string {
  const entry = fileURLToPath(import.meta.resolve(name));
  const marker = `/node_modules/${name}/`;
  const at = entry.lastIndexOf(marker);
  return at >= 0 ? entry.slice(0, at + marker.length) : dirname(entry);
}

/** Browser builds served from node_modules, so the console needs no internet. */
const VENDOR: Record<string, readonly [string, string]> = {
  'vega.min.js': ['vega', 'build/vega.min.js'],
  'vega-lite.min.js': ['vega-lite', 'build/vega-lite.min.js'],
  'vega-embed.min.js': ['vega-embed', 'build/vega-embed.min.js'],
  'socket.io.esm.min.js': ['socket.io', 'client-dist/socket.io.esm.min.js'],
};

/**
 * The console's REST routes (documented in coordinator/openapi.yaml) and its static files:
 * overviews of sites and jobs with live progress, a job's figures and report, cancel and re-run.
 * Data routes need a bearer admin token (viewer reads; admin acts); the page itself holds no data.
 */
export function consoleApi({ state, engine, views }: ConsoleApiDeps): Router {
  const router = express.Router();
  const key = state.adminTokens;
  const siteName = (id: string) => views.siteName(id);
  const figures = (jobId: string) => jobFigures(state.jobs, jobId, siteName, state.sites.list().map((s) => s.name));

  router.get('/', (_req, res) => res.redirect('/console/'));
  router.use('/console', express.static(CONSOLE_DIR, { index: 'index.html', fallthrough: true }));
  router.get('/console/vendor/:file', (req, res) => {
    const asset = VENDOR[req.params.file];
    if (!asset) return void res.status(404).end();
    res.sendFile(join(packageRoot(asset[0]), asset[1]), { maxAge: '1h' });
  });
  router.get('/console/lib/figures.js', (_req, res) => res.sendFile(fileURLToPath(import.meta.resolve('@lgefed/shared/plots/figures'))));

  router.get('/api/whoami', guarded(key, 'viewer', (_req, who) => who));
  router.get('/api/kinds', guarded(key, 'viewer', () => engine.kinds));
  router.get('/api/console/sites', guarded(key, 'viewer', () => views.sites()));
  router.get('/api/console/jobs', guarded(key, 'viewer', () => views.jobs()));
  router.get('/api/jobs/:id/progress', guarded(key, 'viewer', (req) => views.job(String(req.params['id']))));
  router.get('/api/jobs/:id/figures', guarded(key, 'viewer', (req) => figures(String(req.params['id']))));
  router.get(
    '/api/jobs/:id/report',
    guarded(key, 'viewer', async (req, _who, res) => {
      const html = await renderReportHtml(figures(String(req.params['id'])));
      res.type('html').send(html);
    }),
  );
  // The figures and the coordinator's signature over them, anchored at the audit chain's head.
  router.get(
    '/api/jobs/:id/signed-report',
    guarded(key, 'viewer', async (req) => {
      const report = figures(String(req.params['id']));
      return { figures: report, attestation: await attestReport(report, state.audit.head(), state.key) };
    }),
  );
  router.get('/api/identity', guarded(key, 'viewer', () => ({ publicJwk: state.key.publicJwk })));
  router.post('/api/jobs/:id/cancel', guarded(key, 'admin', (req, who) => cancelJob(state, String(req.params['id']), `admin:${who.subject}`)));
  router.post('/api/jobs/:id/rerun', guarded(key, 'admin', (req, who) => rerunJob(state, engine, String(req.params['id']), `admin:${who.subject}`)));
  return router;
}
