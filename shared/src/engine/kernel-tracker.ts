/**
 * Which engine kernel a thread is inside, readable from another thread. Every kernel of the running
 * backend is wrapped to write its index into a shared word on entry and put back the enclosing one on
 * exit, so when a training worker stops making progress its parent can name the kernel it is stuck
 * in (a wasm thread-pool deadlock shows up as a worker spinning inside one kernel for ever).
 */
import { getBackend, getKernelsForBackend, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';

/** The word's value while no kernel runs. */
export const NO_KERNEL = -1;

/** A shared word for `trackKernels`, starting at NO_KERNEL. */
export function kernelSlot(): Int32Array {
  const slot = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  slot[0] = NO_KERNEL;
  return slot;
}

/**
 * Wraps every kernel registered for the running backend so `slot[0]` holds the index of the one
 * running; returns the kernel names by index. Call once, after the engine has started.
 */
export function trackKernels(slot: Int32Array): string[] {
  const backendName = getBackend();
  const configs = getKernelsForBackend(backendName);
  configs.forEach((config: KernelConfig, index) => {
    const run: KernelFunc = config.kernelFunc;
    unregisterKernel(config.kernelName, backendName);
    registerKernel({
      ...config,
      kernelFunc: (args) => {
        // Kernels may run other kernels: restore the caller's index, not NO_KERNEL.
        const enclosing = Atomics.exchange(slot, 0, index);
        try {
          return run(args);
        } finally {
          Atomics.store(slot, 0, enclosing);
        }
      },
    });
  });
  return configs.map((config) => config.kernelName);
}

/** The name of the kernel `slot` says is running, or undefined when none is. */
export function runningKernel(slot: Int32Array, names: readonly string[]): string | undefined {
  const index = Atomics.load(slot, 0);
  return index === NO_KERNEL ? undefined : (names[index] ?? `kernel #${index}`);
}
