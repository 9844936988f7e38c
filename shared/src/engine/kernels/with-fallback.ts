/**
 * A wasm kernel config of ours over the backend's own: `ours` answers the cases it takes and
 * returns undefined for the rest, which go to `original`, registered with its setup as before
 * (Sum and Conv2D bind their wasm functions there).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../errors.js';
import { WasmHeap } from './wasm-heap.js';

export function withFallback(
  kernelName: string,
  original: KernelConfig | undefined,
  ours: (args: Parameters<KernelFunc>[0], heap: WasmHeap) => TensorInfo | TensorInfo[] | undefined,
): KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    ...(original?.setupFunc ? { setupFunc: original.setupFunc } : {}),
    kernelFunc: (args) => {
      const result = ours(args, new WasmHeap(args.backend as BackendWasm));
      if (result) return result;
      if (!original) throw new EngineError(`${kernelName}: the wasm backend has no kernel for this case`);
      return (original.kernelFunc as KernelFunc)(args);
    },
  };
}
