/**
 * Conv2DBackpropFilter for the wasm backend, which has none (so wasm could not train a conv net).
 * dW[kh,kw,ci,co] = sum over (b,oh,ow) of x[b, oh*s+kh-pad, ow*s+kw-pad, ci] * dy[b,oh,ow,co],
 * by one of three methods:
 * - Winograd F(4x4, 3x3) or F(2x2, 3x3) (`conv2dBackpropFilterWinograd`, conv2d-winograd.ts) for
 *   the stride-1 3x3 layers with channels in fours (8 or more) where our SIMD kernels run: 4x or
 *   2.25x fewer multiplications than the direct method.
 * - direct (`byDirect`), wherever our SIMD kernels run: accumulated straight from NHWC x and dy by
 *   shared/wasm/filter-gradient.ts in cache-sized blocks, the samples shared out over the kernel
 *   helper threads. Measured on the lite U-Net's shapes it took 0.3-0.9x the time of one XNNPACK
 *   product per kernel tap over framed copies of x, and of the patch matrix below.
 * - patches (`byPatches`), the fallback without SIMD: x transposed to [CI, B, H, W], the patch
 *   matrix patches^T [KH*KW*CI, B*OH*OW] gathered in JS on the heap and multiplied with dy in
 *   XNNPACK's GEMM (the backend's BatchMatMul, batch 1, no transposes: its only matmul path that
 *   reaches XNNPACK), whole samples at a time so the patch matrix stays below PATCH_BUDGET floats.
 */
import { backend_util, type Conv2DBackpropFilterAttrs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../errors.js';
import { convGeometry } from './conv-geometry.js';
import { simdKernels, type SimdKernels } from './simd.js';
import { kernelPool, runOverSamples } from './kernel-pool.js';
import { conv2dBackpropFilterWinograd, winogradApplies } from './conv2d-winograd.js';
import { WasmHeap } from './wasm-heap.js';

/**
 * Largest patch matrix built at once (floats): 128 MiB. Only memory decides: measured on the lite
 * U-Net's shapes, smaller chunks (down to a cache-sized 1-4k pixels) only added per-product overhead.
 */
const PATCH_BUDGET = 32 * 1024 * 1024;

type Geometry = backend_util.Conv2DInfo;

/** Writes patches^T for batches [b0, b0+nb) of the [CI, B, H, W] input into `dst`. */
function gatherPatches(heap: Float32Array, xt: number, dst: number, g: Geometry, b0: number, nb: number): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = g;
  const top = g.padInfo.top;
  const left = g.padInfo.left;
  let out = dst;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      // Columns ow whose input column ow*sw + kw - left lies inside [0, W).
      const iw0 = kw - left;
      const owStart = Math.min(OW, Math.max(0, Math.ceil(-iw0 / sw)));
      const owEnd = Math.max(owStart, Math.min(OW, Math.floor((W - 1 - iw0) / sw) + 1));
      for (let ci = 0; ci < CI; ci++) {
        for (let b = b0; b < b0 + nb; b++) {
          const plane = xt + (ci * batchSize + b) * H * W;
          for (let oh = 0; oh < OH; oh++, out += OW) {
            const ih = oh * sh + kh - top;
            if (ih < 0 || ih >= H) {
              heap.fill(0, out, out + OW);
              continue;
            }
            const row = plane + ih * W + iw0;
            if (owStart > 0) heap.fill(0, out, out + owStart);
            if (sw === 1) {
              heap.copyWithin(out + owStart, row + owStart, row + owEnd);
            } else {
              for (let ow = owStart; ow < owEnd; ow++) heap[out + ow] = heap[row + ow * sw]!;
            }
            if (owEnd < OW) heap.fill(0, out + owEnd, out + OW);
          }
        }
      }
    }
  }
}

/** Patches: the product patches^T [KH*KW*CI, B*OH*OW] x dy [B*OH*OW, CO], in chunks of at most `patchBudget` floats. */
function byPatches(x: TensorInfo, dy: TensorInfo, g: Geometry, wasm: WasmHeap, patchBudget: number): TensorInfo {
  const { batchSize: B, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW } = g;
  const rows = KH * KW * CI;
  // Chunks are whole samples: rows (b, oh) numbered b * OH + oh, OH at a time.
  const rowsPerChunk = OH * Math.max(1, Math.min(B, Math.floor(patchBudget / Math.max(1, rows * OH * OW))));
  const source = wasm.run('Transpose', { x }, { perm: [3, 0, 1, 2] });
  let sum: TensorInfo | undefined;
  for (let row0 = 0; row0 < B * OH; row0 += rowsPerChunk) {
    const count = Math.min(rowsPerChunk, B * OH - row0);
    const columns = count * OW;
    const patches = wasm.allocate([1, rows, columns]);
    // A fresh copy of dy's rows: XNNPACK caches its packed weights by tensor id and shape-blind.
    const dyRows = wasm.allocate([1, columns, CO]);
    const { heap, offsets } = wasm.view(source, patches, dyRows, dy);
    const [sourceAt, patchesAt, dyRowsAt, dyAt] = offsets as [number, number, number, number];
    gatherPatches(heap, sourceAt, patchesAt, g, row0 / OH, count / OH);
    heap.copyWithin(dyRowsAt, dyAt + row0 * OW * CO, dyAt + (row0 + count) * OW * CO);
    const partial = wasm.run('BatchMatMul', { a: patches, b: dyRows }, { transposeA: false, transposeB: false });
    wasm.dispose(patches, dyRows);
    if (sum === undefined) {
      sum = partial;
    } else {
      const next = wasm.run('Add', { a: sum, b: partial });
      wasm.dispose(sum, partial);
      sum = next;
    }
  }
  wasm.dispose(source);
  const dW = wasm.reshape(sum!, [KH, KW, CI, CO]);
  wasm.dispose(sum!);
  return dW;
}

/**
 * Direct accumulation by our SIMD kernel (shared/wasm/filter-gradient.ts): no copies of x or dy.
 * With kernel helpers the samples are shared out, each thread summing into its own dW.
 */
function byDirect(x: TensorInfo, dy: TensorInfo, g: Geometry, wasm: WasmHeap, simd: SimdKernels, maxThreads: number): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = g;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = g;
  const size = KH * KW * CI * CO;
  const pool = wasm.memory && kernelPool(wasm.memory);
  const helpers = Math.max(0, Math.min(pool?.threads ?? 1, B, maxThreads) - 1);
  const dW = wasm.allocate([KH, KW, CI, CO]);
  const partials = helpers > 0 ? wasm.allocate([helpers, size]) : undefined;
  const { heap, offsets } = wasm.view(x, dy, dW, ...(partials ? [partials] : []));
  const [xAt, dyAt, dWAt, partialsAt] = offsets as [number, number, number, number | undefined];
  heap.fill(0, dWAt, dWAt + size);
  if (partialsAt !== undefined) heap.fill(0, partialsAt, partialsAt + helpers * size);
  const threads = runOverSamples(pool, 'filterGradient', B, simd.filterGradient, ({ first, count }, t) => [
    xAt * 4, dyAt * 4, (t === 0 ? dWAt : partialsAt! + (t - 1) * size) * 4, first, count,
    H, W, CI, OH, OW, CO, KH, KW, sh, sw, g.padInfo.top, g.padInfo.left,
  ], helpers + 1);
  for (let t = 1; t < threads; t++) {
    const from = partialsAt! + (t - 1) * size;
    for (let i = 0; i < size; i++) heap[dWAt + i]! += heap[from + i]!;
  }
  if (partials) wasm.dispose(partials);
  return dW;
}

export type FilterGradientMethod = 'winograd' | 'direct' | 'patches';

export interface FilterGradientOptions {
  /** Force a method (tests); by default Winograd where it applies, else direct wherever the SIMD kernels run. */
  method?: FilterGradientMethod;
  /** At most this many threads for the direct method (tests); by default the main thread and every kernel helper. */
  threads?: number;
  /** Largest patch matrix built at once (floats), for the patch method. */
  patchBudget?: number;
}

export function conv2dBackpropFilter(
  x: TensorInfo,
  dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs,
  wasm: WasmHeap,
  options: FilterGradientOptions = {},
): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
    throw new EngineError(`Conv2DBackpropFilter on wasm supports NHWC only, got ${dataFormat}`);
  }
  const g = convGeometry('Conv2DBackpropFilter', x.shape, filterShape, strides, pad, dimRoundingMode, dy);
  const memory = wasm.memory;
  const simd = memory && simdKernels(memory);
  const method = options.method ?? (simd ? (winogradApplies(g) ? 'winograd' : 'direct') : 'patches');
  if (method === 'winograd') {
    const dW = conv2dBackpropFilterWinograd(x, dy, g, wasm);
    if (!dW) throw new EngineError(`Conv2DBackpropFilter by Winograd does not apply to a ${g.filterHeight}x${g.filterWidth} stride ${g.strideHeight} filter with ${g.inChannels} to ${g.outChannels} channels, or needs the SIMD kernels`);
    return dW;
  }
  if (method === 'direct') {
    if (!simd) throw new EngineError('Conv2DBackpropFilter by direct accumulation needs the SIMD kernels');
    return byDirect(x, dy, g, wasm, simd, options.threads ?? Infinity);
  }
  return byPatches(x, dy, g, wasm, options.patchBudget ?? PATCH_BUDGET);
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) =>
    conv2dBackpropFilter(
      inputs['x']!,
      inputs['dy']!,
      attrs as unknown as Conv2DBackpropFilterAttrs,
      new WasmHeap(backend as BackendWasm),
    ),
};
