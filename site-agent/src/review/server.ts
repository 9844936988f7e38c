import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLoopbackHost } from '@lgefed/shared/net/loopback';
import { encodeNifti } from '@lgefed/shared/imaging/nifti-write';
import type { CaseScores } from '@lgefed/shared/metrics/evaluate';
import type { Case, LabelVolume } from '@lgefed/shared/types';
import type { ReviewHarmonisation } from './analysis.js';

/** Bad options for the review server (e.g. a non-loopback host). */
export class ReviewServerError extends Error {
  override readonly name = 'ReviewServerError';
}

export interface ReviewServerOptions {
  /** 0 (the default) lets the system pick a free port, so no page can guess where to look. */
  readonly port?: number;
  /** Loopback only: the page shows the site's own images and must not be reachable from elsewhere. */
  readonly host: '127.0.0.1' | '::1' | 'localhost';
  readonly cases: readonly Case[];
  /** Model segmentation per case id, on the case's grid. */
  readonly predictions: ReadonlyMap<string, LabelVolume>;
  /** Scores per case id, for cases with labels. */
  readonly metrics: ReadonlyMap<string, CaseScores>;
  readonly harmonisation: ReviewHarmonisation;
}

export interface ReviewServer {
  /** The page's address, with the session token as its first path segment: the only way in. */
  readonly url: string;
  close(): Promise<void>;
}

const PAGE_DIR = fileURLToPath(new URL('../../src/review/page/', import.meta.url));

function packageFile(name: string, file: string): string {
  const entry = fileURLToPath(import.meta.resolve(name));
  const marker = `/node_modules/${name}/`;
  const at = entry.lastIndexOf(marker);
  return join(at >= 0 ? entry.slice(0, at + marker.length) : dirname(entry), file);
}

/** Files the page loads, all from this machine. */
const STATIC: Record<string, () => string> = {
  '/': () => join(PAGE_DIR, 'index.html'),
  '/review.js': () => join(PAGE_DIR, 'review.js'),
  '/review.css': () => join(PAGE_DIR, 'review.css'),
  '/vendor/niivue.js': () => packageFile('@niivue/niivue', 'dist/index.js'),
  '/vendor/vega.min.js': () => packageFile('vega', 'build/vega.min.js'),
  '/vendor/vega-lite.min.js': () => packageFile('vega-lite', 'build/vega-lite.min.js'),
  '/vendor/vega-embed.min.js': () => packageFile('vega-embed', 'build/vega-embed.min.js'),
  '/lib/figures.js': () => fileURLToPath(import.meta.resolve('@lgefed/shared/plots/figures')),
};
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/**
 * Who may be served: a request whose Host names this server on loopback (a DNS-rebinding page sends
 * its own host name), whose Origin, if any, is this server, and whose path starts with the session
 * token (another local user or process does not know it).
 */
function admits(req: IncomingMessage, hosts: ReadonlySet<string>, token: Buffer): string | undefined {
  const host = req.headers.host;
  if (host === undefined || !hosts.has(host)) return undefined;
  const origin = req.headers.origin;
  if (origin !== undefined && !(origin.startsWith('http://') && hosts.has(origin.slice('http://'.length)))) return undefined;
  const path = new URL(req.url ?? '/', 'http://review').pathname;
  const slash = path.indexOf('/', 1);
  if (slash < 0) return undefined;
  const given = Buffer.from(path.slice(1, slash));
  if (given.length !== token.length || !timingSafeEqual(given, token)) return undefined;
  return path.slice(slash);
}

/** The summary the page lists: per case its grid, Dice, HD95 and volumes where labels exist. */
function caseSummaries(options: ReviewServerOptions) {
  return options.cases.map((c, index) => {
    const scores = options.metrics.get(c.id) ?? null;
    return { index, id: c.id, file: c.source.split(' + ').map((f) => basename(f)).join(' + '), dims: c.image.dims, spacing: c.image.spacing, hasLabel: c.label !== undefined, scores };
  });
}

/**
 * The site review page: each case with the model's segmentation overlaid (niivue), per-case Dice
 * where labels exist, and the intensity check. Serves on loopback only and sends nothing anywhere:
 * the page and its libraries come from this process. Every path lies under a random session token
 * and Host and Origin must name this server, so neither another web page nor another user can read
 * the images.
 */
export async function startReviewServer(options: ReviewServerOptions): Promise<ReviewServer> {
  if (!isLoopbackHost(options.host)) throw new ReviewServerError(`the review page serves on loopback only (127.0.0.1, ::1, localhost), not ${options.host}`);
  for (const c of options.cases) if (!options.predictions.has(c.id)) throw new ReviewServerError(`no prediction for case ${c.id}`);
  const summary = JSON.stringify({ cases: caseSummaries(options), harmonisation: options.harmonisation });
  const token = Buffer.from(randomBytes(32).toString('base64url'));
  let hosts: ReadonlySet<string> = new Set();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    const path = admits(req, hosts, token);
    // One answer for every refusal, so a prober learns nothing about which check failed.
    if (path === undefined) return void res.writeHead(404).end();
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (path === '/api/review') return void res.writeHead(200, { 'content-type': 'application/json' }).end(summary);
    const volume = /^\/volumes\/(\d+)\/(image|prediction|label)\.nii$/.exec(path);
    if (volume) {
      const c = options.cases[Number(volume[1])];
      const which = volume[2];
      const data = !c ? undefined : which === 'image' ? c.image : which === 'label' ? c.label : options.predictions.get(c.id);
      if (!c || !data) return void res.writeHead(404).end();
      const bytes = encodeNifti({ data: data.data, dims: data.dims, spacing: data.spacing });
      return void res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength }).end(bytes);
    }
    const file = STATIC[path];
    if (!file) return void res.writeHead(404).end();
    const target = file();
    const stream = createReadStream(target);
    stream.on('error', () => res.writeHead(404).end());
    stream.on('open', () => {
      res.writeHead(200, { 'content-type': TYPES[target.slice(target.lastIndexOf('.'))] ?? 'application/octet-stream' });
      stream.pipe(res);
    });
  };
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  hosts = new Set([host, 'localhost'].map((h) => `${h}:${address.port}`));
  return {
    url: `http://${host}:${address.port}/${token.toString()}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
