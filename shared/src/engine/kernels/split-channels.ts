/**
 * SplitV for the wasm backend when it splits the last (channel) axis of a float32 tensor: each
 * part by our wasm kernel, one bulk copy per pixel (shared/wasm/channel-slice.ts). Any other split
 * goes to the backend's own kernel (element-wise slices), which stays registered underneath.
 */
import { backend_util, util, type KernelConfig, type KernelFunc, type SplitVAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './simd.js';
import { WasmHeap } from './wasm-heap.js';

export function splitChannelsConfig(original: KernelConfig | undefined): KernelConfig {
  return {
    kernelName: 'SplitV',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs['x'] as TensorInfo;
      const { numOrSizeSplits, axis } = args.attrs as unknown as SplitVAttrs;
      const channelAxis = util.parseAxisParam(axis, x.shape)[0] === x.shape.length - 1;
      const heap = new WasmHeap(args.backend as BackendWasm);
      const memory = heap.memory;
      const simd = channelAxis && x.dtype === 'float32' && memory ? simdKernels(memory) : undefined;
      if (!simd) {
        if (!original) throw new Error('SplitV: the wasm backend has no kernel for this split');
        return (original.kernelFunc as KernelFunc)(args);
      }
      const channels = x.shape[x.shape.length - 1]!;
      const pixels = util.sizeFromShape(x.shape) / channels;
      const sizes = backend_util.prepareSplitSize(x as unknown as Parameters<typeof backend_util.prepareSplitSize>[0], numOrSizeSplits, x.shape.length - 1);
      let first = 0;
      return sizes.map((count) => {
        const part = heap.allocate([...x.shape.slice(0, -1), count]);
        const [from, to] = heap.byteOffsets(x, part);
        simd.channelSlice(from!, to!, pixels, channels, first, count);
        first += count;
        return part;
      });
    },
  };
}
