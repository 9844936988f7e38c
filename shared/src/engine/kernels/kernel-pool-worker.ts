/** A kernel-pool helper thread (see kernel-pool.ts): waits for a run, runs its share, reports. */
import { parentPort, workerData } from 'node:worker_threads';
import { argsAt, CONTROL, POOL_KERNELS, type PoolShared } from './kernel-pool.js';
import { simdKernels } from './simd.js';

const { memory, control, args, slot } = workerData as PoolShared & { args: SharedArrayBuffer };
const kernels = simdKernels(memory) as unknown as Record<string, (...args: number[]) => void> | undefined;
if (!kernels) {
  parentPort!.postMessage('no SIMD kernels in this thread');
} else {
  const words = new Int32Array(control);
  const values = new Float64Array(args);
  const at = argsAt(slot);
  // The generation is read before saying ready: the pool runs nothing before it hears that, so no
  // run can start unseen between the two (which would leave the main thread waiting for it forever).
  let seen = Atomics.load(words, CONTROL.generation);
  parentPort!.postMessage('ready');
  for (;;) {
    Atomics.wait(words, CONTROL.generation, seen);
    seen = Atomics.load(words, CONTROL.generation);
    const count = values[at]!;
    if (count >= 0) {
      try {
        kernels[POOL_KERNELS[Atomics.load(words, CONTROL.kernel)]!]!(...values.subarray(at + 1, at + 1 + count));
      } catch {
        Atomics.store(words, CONTROL.failed, 1);
      }
    }
    if (Atomics.sub(words, CONTROL.pending, 1) === 1) Atomics.notify(words, CONTROL.pending);
  }
}
