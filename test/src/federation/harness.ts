import { architectureHash, resolveArchitecture } from '@lgefed/site-agent/architecture';
import { writeNifti } from '@lgefed/shared/imaging/nifti-write';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLI = resolve('cli/bin/lgefed.js');

/** The smallest U-Net the model code accepts: keeps real training on real processes fast. */
export const TINY_ARCH = 'lite:stages=2,baseFeatures=2,maxFeatures=4,inputSize=16';
export const TINY_ARCH_HASH = architectureHash(resolveArchitecture(TINY_ARCH));

/** A deterministic pseudo-random stream, so every site's images are reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * A tiny site dataset in the nifti-pairs layout: bright blood pool, grey myocardial ring, noise.
 * Returns every image's float32 voxels, for checking that none of them leaves the site.
 */
export async function writeTinyDataset(dir: string, cases: number, seed: number): Promise<Float32Array[]> {
  await mkdir(dir, { recursive: true });
  const random = rng(seed);
  const [w, h, d] = [24, 24, 2];
  const images: Float32Array[] = [];
  for (let c = 0; c < cases; c++) {
    const image = new Float32Array(w * h * d);
    const label = new Uint8Array(w * h * d);
    const cx = 10 + random() * 4;
    const cy = 10 + random() * 4;
    for (let z = 0; z < d; z++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const i = z * w * h + y * w + x;
          const r = Math.hypot(x - cx, y - cy);
          label[i] = r < 3 ? 1 : r < 5 ? 2 : 0;
          image[i] = (label[i] === 1 ? 400 : label[i] === 2 ? 120 : 60) + random() * 40 + seed;
        }
    await writeNifti(join(dir, `case${c}.nii.gz`), { data: image, dims: [w, h, d], spacing: [1.5, 1.5, 8] });
    await writeNifti(join(dir, `case${c}_seg.nii.gz`), { data: label, dims: [w, h, d], spacing: [1.5, 1.5, 8] });
    images.push(image);
  }
  return images;
}

export async function cli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('node', [CLI, ...args]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

/** A child process with its output collected, and a way to wait for a line. */
export class Proc {
  output = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (b: Buffer) => (this.output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (this.output += b.toString()));
    // 'close', not 'exit': only then has all of the process's output been read.
    this.exited = new Promise((r) => child.on('close', (code) => r(code)));
  }
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const started = Date.now();
    for (;;) {
      const m = pattern.exec(this.output);
      if (m) return m;
      if (this.child.exitCode !== null || Date.now() - started > timeoutMs) throw new Error(`waiting for ${pattern}; output so far:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export function spawnCli(...args: string[]): Proc {
  return spawnCliWithEnv({}, ...args);
}

/** With extra environment variables (e.g. NODE_EXTRA_CA_CERTS, read only at process start). */
export function spawnCliWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): Proc {
  return new Proc(spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LGEFED_BACKEND: 'cpu', ...env } }));
}

export interface RunningCoordinatorProcess {
  readonly proc: Proc;
  readonly url: string;
  readonly token: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

export async function startCoordinatorProcess(stateDir: string, port = 0): Promise<RunningCoordinatorProcess> {
  const proc = spawnCli('coordinator', 'start', '--state', stateDir, '--port', String(port), '--heartbeat-seconds', '0.3');
  const url = (await proc.waitFor(/listening on (\S+)/))[1]!;
  const token = (await cli('coordinator', 'token', '--state', stateDir, '--subject', 'test', '--role', 'admin')).stdout.trim();
  return {
    proc,
    url,
    token,
    async api(method, path, body) {
      const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, body: await res.json() };
    },
  };
}

export interface SiteSetup {
  readonly name: string;
  readonly dir: string;
  readonly kit: string;
  readonly config: string;
  readonly images: Float32Array[];
}

/** Enrols a site by CLI and writes its data and site.json (policy overrides merged in). */
export async function prepareSite(root: string, coordinatorState: string, name: string, seed: number, policy: Record<string, unknown> = {}, cases = 6): Promise<SiteSetup> {
  const dir = join(root, name);
  const images = await writeTinyDataset(join(dir, 'data'), cases, seed);
  const kit = join(dir, 'kit.json');
  const enrolled = await cli('coordinator', 'enroll', '--state', coordinatorState, '--site', name, '--out', kit);
  if (enrolled.code !== 0) throw new Error(enrolled.stderr);
  const config = join(dir, 'site.json');
  await writeFile(
    config,
    JSON.stringify({ stateDir: 'state', datasets: [{ name: 'lge', path: 'data', layout: 'nifti-pairs' }], split: { seed, validation: 0, test: 0.5 }, backend: 'cpu', policy: { approvedArchitectures: [TINY_ARCH_HASH], minCasesForMetrics: 1, minCasesForWeights: 1, ...policy } }),
  );
  return { name, dir, kit, config, images };
}

export function startAgent(site: SiteSetup, extra: string[] = []): Proc {
  return spawnCli('site', 'start', '--kit', site.kit, '--config', site.config, ...extra);
}

export async function waitForJob(coordinator: RunningCoordinatorProcess, jobId: string, timeoutMs = 90_000): Promise<any> {
  const started = Date.now();
  for (;;) {
    const { body } = await coordinator.api('GET', `/api/jobs/${jobId}`);
    if (body.status !== 'running') return body;
    if (Date.now() - started > timeoutMs) throw new Error(`job ${jobId} still running: ${JSON.stringify(body).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A TCP port free on loopback right now (for a process that must be told its port up front). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
