/**
 * Chooses the tfjs backend once per process (or worker thread): tfjs-node-gpu when it loads and
 * sees a GPU, then tfjs-node, then wasm with our training kernels (multi-threaded when the
 * runtime allows), then the pure-JS cpu backend. `LGEFED_BACKEND` or the `backend` option forces
 * one; a forced backend that cannot start is an error, not a silent fallback.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from './errors.js';
import { registerWasmTrainingKernels, simdNote, startKernelHelpers } from './kernels/index.js';
import { MAX_WASM_THREADS, registerThreadedWasmBackend } from './wasm-threaded.js';

export const ENGINE_BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type EngineBackend = (typeof ENGINE_BACKENDS)[number];
export type BackendRequest = 'auto' | EngineBackend;

export interface EngineOptions {
  /** Default: `LGEFED_BACKEND`, else 'auto'. */
  readonly backend?: BackendRequest;
  /** Compute threads for wasm. Default: `LGEFED_THREADS`, else the available cores (at most 8). */
  readonly threads?: number;
  /** Where the choice and its reason are logged; default stderr. */
  readonly log?: (line: string) => void;
  /**
   * Module loader for the native packages; tests pass one that fails to simulate their absence.
   * Default: dynamic import.
   */
  readonly importNative?: (name: string) => Promise<unknown>;
}

/** What the engine runs on, reported as a site capability. */
export interface EngineInfo {
  readonly backend: EngineBackend;
  /** The tfjs backend name in use ('tensorflow', 'wasm', 'cpu'). */
  readonly tfBackend: string;
  readonly gpu: boolean;
  readonly threads: number;
  /** Why this backend, including why better ones were skipped. */
  readonly reason: string;
}

export function parseBackendRequest(value: string): BackendRequest {
  if (value === 'auto' || (ENGINE_BACKENDS as readonly string[]).includes(value)) return value as BackendRequest;
  throw new EngineError(`unknown backend "${value}" (expected auto, ${ENGINE_BACKENDS.join(', ')})`);
}

/** The request, else `LGEFED_BACKEND` (unset or empty: auto), checked. */
export function resolveBackend(requested: string | undefined): BackendRequest {
  const fromEnv = process.env['LGEFED_BACKEND'];
  return parseBackendRequest(requested ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'auto'));
}

/** Compute threads: the request, else `LGEFED_THREADS`, else the available cores (at most 8). */
export function resolveThreads(requested: number | undefined): number {
  const fromEnv = process.env['LGEFED_THREADS'];
  const threads = requested ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : Math.min(availableParallelism(), MAX_WASM_THREADS));
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new EngineError(`threads must be an integer in 1..${MAX_WASM_THREADS}, got ${String(fromEnv ?? requested)}`);
  }
  return threads;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** tfjs-node's binding answers whether TensorFlow placed ops on a GPU. */
function nativeSeesGpu(): boolean {
  const backend = tf.backend() as unknown as { binding?: { isUsingGpuDevice?: () => boolean } };
  return backend.binding?.isUsingGpuDevice?.() === true;
}

async function tryNative(pkg: string, importNative: (name: string) => Promise<unknown>): Promise<void> {
  await importNative(pkg);
  if (!(await tf.setBackend('tensorflow'))) throw new EngineError(`${pkg} loaded but the tensorflow backend did not start`);
}

async function startWasm(threads: number): Promise<{ threads: number; note: string }> {
  registerWasmTrainingKernels();
  let note = '';
  if (threads > 1) {
    try {
      await registerThreadedWasmBackend(threads);
    } catch (error) {
      note = `; multi-threaded build unavailable (${message(error)}), single thread`;
    }
  }
  if (!(await tf.setBackend('wasm'))) throw new EngineError('the wasm backend did not start');
  const running = getThreadsCount();
  if (running > 1) {
    try {
      await startKernelHelpers(running - 1);
    } catch (error) {
      note += `; our kernels on one thread (${message(error)})`;
    }
  }
  return { threads: running, note };
}

let current: { key: string; info: Promise<EngineInfo> } | undefined;

/**
 * Selects and starts the backend; later calls with the same request return the same answer.
 * Works in worker threads (each has its own tfjs instance).
 */
export function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  const request = resolveBackend(options.backend);
  const threads = resolveThreads(options.threads);
  const key = `${request}/${threads}`;
  if (current?.key === key) return current.info;
  const info = select(request, threads, options).then((chosen) => {
    (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `lgefed engine: ${chosen.backend} (${chosen.threads} thread${chosen.threads === 1 ? '' : 's'}, gpu: ${chosen.gpu}) — ${chosen.reason}`,
    );
    return chosen;
  });
  current = { key, info };
  info.catch(() => {
    if (current?.info === info) current = undefined;
  });
  return info;
}

async function select(request: BackendRequest, threads: number, options: EngineOptions): Promise<EngineInfo> {
  const importNative = options.importNative ?? ((name: string) => import(name));
  const forced = request !== 'auto';
  const skipped: string[] = [];
  const skip = (what: string, error: unknown) => {
    if (forced) throw new EngineError(`backend ${request} was forced but cannot start: ${message(error)}`);
    skipped.push(`${what}: ${message(error)}`);
  };
  const because = (why: string) => (skipped.length > 0 ? `${why}; skipped ${skipped.join('; ')}` : why);

  if (request === 'auto' || request === 'tensorflow-gpu') {
    try {
      await tryNative('@tensorflow/tfjs-node-gpu', importNative);
      if (nativeSeesGpu()) {
        return { backend: 'tensorflow-gpu', tfBackend: 'tensorflow', gpu: true, threads: 0, reason: because('tfjs-node-gpu sees a GPU') };
      }
      if (forced) throw new EngineError('tfjs-node-gpu loaded but sees no GPU');
      // Its CPU kernels are native TensorFlow, still the fastest CPU path.
      return { backend: 'tensorflow', tfBackend: 'tensorflow', gpu: false, threads: 0, reason: because('tfjs-node-gpu loaded but sees no GPU; native CPU kernels') };
    } catch (error) {
      skip('tfjs-node-gpu', error);
    }
  }
  if (request === 'auto' || request === 'tensorflow') {
    try {
      await tryNative('@tensorflow/tfjs-node', importNative);
      return { backend: 'tensorflow', tfBackend: 'tensorflow', gpu: false, threads: 0, reason: because('tfjs-node (native TensorFlow CPU)') };
    } catch (error) {
      skip('tfjs-node', error);
    }
  }
  if (request === 'auto' || request === 'wasm') {
    try {
      const started = await startWasm(threads);
      return {
        backend: 'wasm',
        tfBackend: 'wasm',
        gpu: false,
        threads: started.threads,
        reason: because(`wasm + XNNPACK with lgefed training kernels (${simdNote()})${started.note}`),
      };
    } catch (error) {
      skip('wasm', error);
    }
  }
  if (!(await tf.setBackend('cpu'))) throw new EngineError('the cpu backend did not start');
  return { backend: 'cpu', tfBackend: 'cpu', gpu: false, threads: 1, reason: because(forced ? 'forced' : 'last resort: pure-JS kernels') };
}
