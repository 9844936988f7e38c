/**
 * Conv2DBackpropFilter for the wasm backend, which has none (so wasm could not train a conv net).
 * dW[kh,kw,ci,co] = sum over (b,oh,ow) of x[b, oh*s+kh-pad, ow*s+kw-pad, ci] * dy[b,oh,ow,co]
 * is one matrix product: patches^T [KH*KW*CI, B*OH*OW] x dy [B*OH*OW, CO]. For stride-1
 * same-size convolutions with channels in fours, the patches come from our SIMD kernel straight
 * from NHWC x (shared/wasm/conv-patches.ts); otherwise x is transposed to [CI, B, H, W] and the
 * rows gathered in JS on the heap. The product runs in XNNPACK's GEMM, the only matmul path of the
 * backend that reaches it (batch 1, no transposes).
 * Batches are processed in chunks so the patch matrix stays below PATCH_BUDGET floats.
 */
import { backend_util, type Conv2DBackpropFilterAttrs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../errors.js';
import { simdKernels, SIMD_LANES, type SimdKernels } from './simd.js';
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

/** The SIMD patch kernel when it applies: stride 1, output the input's size, channels and width in fours. */
function stride1Simd(g: Geometry, wasm: WasmHeap): SimdKernels | undefined {
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, inHeight, inWidth, outHeight, outWidth, inChannels } = g;
  const applies =
    strideHeight === 1 && strideWidth === 1 && dilationHeight === 1 && dilationWidth === 1 &&
    outHeight === inHeight && outWidth === inWidth && inChannels % SIMD_LANES === 0 && inWidth % SIMD_LANES === 0;
  const memory = applies ? wasm.memory : undefined;
  return memory && simdKernels(memory);
}

/** `patchBudget` (floats) bounds the patch matrix built at once: output rows (SIMD) or samples (JS) are chunked to fit. */
export function conv2dBackpropFilter(
  x: TensorInfo,
  dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs,
  wasm: WasmHeap,
  patchBudget = PATCH_BUDGET,
): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
    throw new EngineError(`Conv2DBackpropFilter on wasm supports NHWC only, got ${dataFormat}`);
  }
  const g = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize: B, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW } = g;
  const expected = [B, OH, OW, CO];
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new EngineError(`Conv2DBackpropFilter: dy is [${dy.shape}], expected [${expected}]`);
  }
  const rows = KH * KW * CI;
  const simd = stride1Simd(g, wasm);
  // Chunks are ranges of output rows (b, oh), numbered b * OH + oh: any range for the SIMD kernel,
  // whole samples for the JS gather.
  const rowsPerChunk = simd
    ? Math.max(1, Math.min(B * OH, Math.floor(patchBudget / (rows * OW))))
    : OH * Math.max(1, Math.min(B, Math.floor(patchBudget / Math.max(1, rows * OH * OW))));
  // The JS gather reads x as [CI, B, H, W]; the SIMD kernel reads NHWC x in place.
  const source = simd ? x : wasm.run('Transpose', { x }, { perm: [3, 0, 1, 2] });
  let sum: TensorInfo | undefined;
  for (let row0 = 0; row0 < B * OH; row0 += rowsPerChunk) {
    const count = Math.min(rowsPerChunk, B * OH - row0);
    const columns = count * OW;
    const patches = wasm.allocate([1, rows, columns]);
    // A fresh copy of dy's rows: XNNPACK caches its packed weights by tensor id and shape-blind.
    const dyRows = wasm.allocate([1, columns, CO]);
    const { heap, offsets } = wasm.view(source, patches, dyRows, dy);
    const [sourceAt, patchesAt, dyRowsAt, dyAt] = offsets as [number, number, number, number];
    if (simd) simd.stride1Patches(sourceAt * 4, patchesAt * 4, row0, count, g.inHeight, g.inWidth, CI, KH, KW, g.padInfo.top, g.padInfo.left);
    else gatherPatches(heap, sourceAt, patchesAt, g, row0 / OH, count / OH);
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
  if (source !== x) wasm.dispose(source);
  const dW = wasm.reshape(sum!, [KH, KW, CI, CO]);
  wasm.dispose(sum!);
  return dW;
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
