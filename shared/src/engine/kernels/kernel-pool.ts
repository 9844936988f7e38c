/**
 * Helper threads that run our SIMD kernels on the threaded backend's shared wasm memory beside the
 * main thread, so a kernel of ours can use every core as XNNPACK's do. Kernels stay synchronous:
 * the main thread posts each helper its arguments in a shared block, wakes them, runs its own
 * share and waits (Atomics) until all are done. Helpers are started once, with the engine.
 */
import { Worker } from 'node:worker_threads';
import { EngineError } from '../errors.js';
import type { SimdKernels, WasmMemory } from './simd.js';

/** The kernels a helper can run (their arguments are all numbers). */
export const POOL_KERNELS = ['filterGradient', 'instanceNormActForward', 'instanceNormActBackward', 'winogradConv', 'winogradFilterGradient'] as const satisfies readonly (keyof SimdKernels)[];
export type PoolKernel = (typeof POOL_KERNELS)[number];

/** Control words: generation (bumped per run), helpers still running, a failure flag, the kernel. */
export const CONTROL = { generation: 0, pending: 1, failed: 2, kernel: 3 } as const;
const CONTROL_WORDS = 4;
/** Per helper: argument count (−1: nothing to do this run), then the arguments. */
export const MAX_ARGS = 31;

export interface PoolShared {
  readonly memory: WasmMemory;
  readonly control: SharedArrayBuffer;
  readonly slot: number;
}

/** Where helper `slot`'s words start in the argument block (float64s). */
export const argsAt = (slot: number) => slot * (MAX_ARGS + 1);

export class KernelPool {
  private readonly control: Int32Array;
  private readonly args: Float64Array;

  private constructor(
    private readonly workers: Worker[],
    shared: { control: SharedArrayBuffer; args: SharedArrayBuffer },
  ) {
    this.control = new Int32Array(shared.control);
    this.args = new Float64Array(shared.args);
  }

  /** Starts `helpers` threads over `memory` (a shared WebAssembly.Memory) and waits until each is ready. */
  static async start(memory: WasmMemory, helpers: number): Promise<KernelPool> {
    if (!(memory.buffer instanceof SharedArrayBuffer)) throw new EngineError('kernel helpers need the threaded backend (shared memory)');
    const control = new SharedArrayBuffer(CONTROL_WORDS * 4);
    const args = new SharedArrayBuffer(helpers * (MAX_ARGS + 1) * 8);
    const workers = Array.from({ length: helpers }, (_, slot) => new Worker(new URL('./kernel-pool-worker.js', import.meta.url), { workerData: { memory, control, args, slot } }));
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', (m) => (m === 'ready' ? resolve() : reject(new EngineError(`kernel helper failed to start: ${String(m)}`))));
              w.once('error', reject);
            }),
        ),
      );
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    }
    // Helpers block in Atomics.wait between runs; unreferenced, they never keep the process alive.
    for (const w of workers) w.unref();
    return new KernelPool(workers, { control, args });
  }

  /** Threads a run can use: the helpers plus the main thread. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs `kernel` once per argument list, the first on this thread and the others on helpers, and
   * returns when all have finished. At most `threads` lists.
   */
  run(kernel: PoolKernel, calls: readonly (readonly number[])[], runHere: (...args: number[]) => void): void {
    if (calls.length < 1 || calls.length > this.threads) throw new EngineError(`kernel pool: ${calls.length} calls for ${this.threads} threads`);
    for (let slot = 0; slot < this.workers.length; slot++) {
      const call = calls[slot + 1];
      if (call && call.length > MAX_ARGS) throw new EngineError(`kernel pool: ${call.length} arguments, at most ${MAX_ARGS}`);
      const at = argsAt(slot);
      this.args[at] = call ? call.length : -1;
      if (call) this.args.set(call, at + 1);
    }
    Atomics.store(this.control, CONTROL.kernel, POOL_KERNELS.indexOf(kernel));
    Atomics.store(this.control, CONTROL.failed, 0);
    Atomics.store(this.control, CONTROL.pending, this.workers.length);
    Atomics.add(this.control, CONTROL.generation, 1);
    Atomics.notify(this.control, CONTROL.generation);
    try {
      runHere(...calls[0]!);
    } finally {
      for (let left = Atomics.load(this.control, CONTROL.pending); left !== 0; left = Atomics.load(this.control, CONTROL.pending)) {
        Atomics.wait(this.control, CONTROL.pending, left);
      }
    }
    if (Atomics.load(this.control, CONTROL.failed) !== 0) throw new EngineError(`kernel ${kernel} failed on a helper thread`);
  }
}

/** Samples [first, first + count) for each of `threads` threads, in order, as even as can be. */
export function sampleRanges(samples: number, threads: number): { first: number; count: number }[] {
  return Array.from({ length: threads }, (_, t) => {
    const first = Math.floor((t * samples) / threads);
    return { first, count: Math.floor(((t + 1) * samples) / threads) - first };
  });
}

/**
 * Runs a kernel over samples on every thread the pool has (at most one per sample): `call`
 * gives the arguments for thread t's range (t = 0 is this thread). Without a pool, one call.
 */
export function runOverSamples(
  pool: KernelPool | undefined,
  kernel: PoolKernel,
  samples: number,
  runHere: (...args: number[]) => void,
  call: (range: { first: number; count: number }, thread: number) => number[],
  maxThreads = Infinity,
): number {
  const threads = Math.max(1, Math.min(pool?.threads ?? 1, samples, maxThreads));
  const calls = sampleRanges(samples, threads).map(call);
  if (pool && threads > 1) pool.run(kernel, calls, runHere);
  else runHere(...calls[0]!);
  return threads;
}

const pools = new WeakMap<WasmMemory, KernelPool>();

/** Starts the helpers for `memory` once; later calls return the same pool. */
export async function startKernelPool(memory: WasmMemory, helpers: number): Promise<KernelPool> {
  let pool = pools.get(memory);
  if (!pool) {
    pool = await KernelPool.start(memory, helpers);
    pools.set(memory, pool);
  }
  return pool;
}

/** The helpers running on `memory`, if the engine started any. */
export function kernelPool(memory: WasmMemory): KernelPool | undefined {
  return pools.get(memory);
}
