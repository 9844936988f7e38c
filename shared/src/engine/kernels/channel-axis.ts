/**
 * SplitV, Concat and Slice for the wasm backend along the last (channel) axis of float32 tensors:
 * each part moved by our wasm kernel, one bulk copy per pixel (shared/wasm/channel-copy.ts); and
 * Sum over every axis but the channels (a bias's gradient; shared/wasm/channel-sum.ts). Any other
 * axis or dtype goes to the backend's own kernel, kept underneath. (The loss slices the
 * foreground classes out of every head: the backend's element-wise Slice took 3.5 % of a step.)
 */
import { backend_util, slice_util, util, type ConcatAttrs, type KernelConfig, type SliceAttrs, type SplitVAttrs, type SumAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { simdKernels, type SimdKernels } from './simd.js';
import type { WasmHeap } from './wasm-heap.js';
import { withFallback } from './with-fallback.js';

/** Our kernel when every tensor is float32 and `axis` is their last; else undefined. */
function channelKernels(heap: WasmHeap, tensors: readonly TensorInfo[], axis: number | number[]): SimdKernels | undefined {
  const rank = tensors[0]!.shape.length;
  const last = util.parseAxisParam(axis, tensors[0]!.shape)[0] === rank - 1;
  const memory = heap.memory;
  return last && tensors.every((t) => t.dtype === 'float32' && t.shape.length === rank) && memory ? simdKernels(memory) : undefined;
}

export function splitChannelsConfig(original: KernelConfig | undefined): KernelConfig {
  return withFallback('SplitV', original, (args, heap) => {
    const x = args.inputs['x'] as TensorInfo;
    const { numOrSizeSplits, axis } = args.attrs as unknown as SplitVAttrs;
    const simd = channelKernels(heap, [x], axis);
    if (!simd) return undefined;
    const channels = x.shape[x.shape.length - 1]!;
    const pixels = util.sizeFromShape(x.shape) / channels;
    const sizes = backend_util.prepareSplitSize(x as unknown as Parameters<typeof backend_util.prepareSplitSize>[0], numOrSizeSplits, x.shape.length - 1);
    let first = 0;
    return sizes.map((count) => {
      const part = heap.allocate([...x.shape.slice(0, -1), count]);
      const [from, to] = heap.byteOffsets(x, part);
      simd.channelCopy(from!, channels, first, to!, count, 0, count, pixels);
      first += count;
      return part;
    });
  });
}

export function concatChannelsConfig(original: KernelConfig | undefined): KernelConfig {
  return withFallback('Concat', original, (args, heap) => {
    const inputs = Object.values(args.inputs) as TensorInfo[];
    const { axis } = args.attrs as unknown as ConcatAttrs;
    const simd = inputs.length > 1 ? channelKernels(heap, inputs, axis) : undefined;
    if (!simd) return undefined;
    const outer = inputs[0]!.shape.slice(0, -1);
    if (inputs.some((t) => t.shape.slice(0, -1).some((d, i) => d !== outer[i]))) return undefined;
    const channels = inputs.reduce((sum, t) => sum + t.shape[t.shape.length - 1]!, 0);
    const pixels = util.sizeFromShape(outer);
    const out = heap.allocate([...outer, channels]);
    let first = 0;
    for (const part of inputs) {
      const count = part.shape[part.shape.length - 1]!;
      const [from, to] = heap.byteOffsets(part, out);
      simd.channelCopy(from!, count, 0, to!, channels, first, count, pixels);
      first += count;
    }
    return out;
  });
}

export function sliceChannelsConfig(original: KernelConfig | undefined): KernelConfig {
  return withFallback('Slice', original, (args, heap) => {
    const x = args.inputs['x'] as TensorInfo;
    const { begin, size } = args.attrs as unknown as SliceAttrs;
    if (x.shape.length < 2) return undefined;
    const [start, extent] = slice_util.parseSliceParams(x as unknown as Parameters<typeof slice_util.parseSliceParams>[0], begin, size);
    const last = x.shape.length - 1;
    // Only a channel range of every pixel: all other axes whole.
    if (x.shape.some((d, i) => i < last && (start[i] !== 0 || extent[i] !== d))) return undefined;
    const simd = channelKernels(heap, [x], last);
    if (!simd) return undefined;
    const channels = x.shape[last]!;
    const part = heap.allocate([...x.shape.slice(0, -1), extent[last]!]);
    const [from, to] = heap.byteOffsets(x, part);
    simd.channelCopy(from!, channels, start[last]!, to!, extent[last]!, 0, extent[last]!, util.sizeFromShape(x.shape) / channels);
    return part;
  });
}

export function sumOverPixelsConfig(original: KernelConfig | undefined): KernelConfig {
  return withFallback('Sum', original, (args, heap) => {
    const x = args.inputs['x'] as TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as SumAttrs;
    const rank = x.shape.length;
    const channels = x.shape[rank - 1]!;
    const axes = [...new Set(util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    // Every axis but the last.
    if (rank < 2 || x.dtype !== 'float32' || axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return undefined;
    const memory = heap.memory;
    const simd = memory && simdKernels(memory);
    if (!simd) return undefined;
    const out = heap.allocate(keepDims ? [...x.shape.slice(0, -1).map(() => 1), channels] : [channels]);
    const partial = heap.allocate([channels]);
    const [from, to, scratch] = heap.byteOffsets(x, out, partial);
    simd.channelSum(from!, to!, scratch!, util.sizeFromShape(x.shape) / channels, channels);
    heap.dispose(partial);
    return out;
  });
}
