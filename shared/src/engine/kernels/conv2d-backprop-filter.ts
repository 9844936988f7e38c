/**
 * Conv2DBackpropFilter for the wasm backend, which has none (so wasm could not train a conv net).
 * dW[kh,kw,ci,co] = sum over (b,oh,ow) of x[b, oh*s+kh-pad, ow*s+kw-pad, ci] * dy[b,oh,ow,co],
 * by one of two methods whose products run in XNNPACK's GEMM (the backend's BatchMatMul, batch 1,
 * no transposes: its only matmul path that reaches XNNPACK):
 * - frames (`byFrames`): one product per kernel tap over zero-framed phase planes of x; used where
 *   the frame border adds little work (large images);
 * - patches (`byPatches`): one product over the patch matrix patches^T [KH*KW*CI, B*OH*OW]. For
 *   stride-1 same-size convolutions with channels in fours the patches come from our SIMD kernel
 *   straight from NHWC x (shared/wasm/conv-patches.ts); otherwise x is transposed to [CI, B, H, W]
 *   and the rows gathered in JS on the heap. Output rows are processed in chunks so the patch
 *   matrix stays below PATCH_BUDGET floats.
 */
import { backend_util, type Conv2DBackpropFilterAttrs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../errors.js';
import { convGeometry } from './conv-geometry.js';
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

/**
 * Frames cost more multiply-adds than patches by their zero border (FH*FW against OH*OW): worth
 * it only where the border is thin. Measured on the lite U-Net's shapes (batch 8, 2 threads):
 * frames take 0.5-0.8x the time of patches at 128x128 to 32x32 outputs (overhead <= 1.13), about
 * the same at 16x16 and 8x8 outputs of 3x3 kernels (1.27), 1.5x at 8x8 with stride 1 (1.56).
 */
const MAX_FRAME_OVERHEAD = 1.3;

/** Phase rows (or columns) read by kernel taps 0..kernel-1: shifts from `first` to `last`, in strides. */
interface PhaseSpan {
  first: number;
  last: number;
}

function phaseSpan(kernel: number, pad: number, stride: number): PhaseSpan {
  return { first: Math.floor(-pad / stride), last: Math.floor((kernel - 1 - pad) / stride) };
}

/** Where one kernel tap reads: its input phase and its shift inside the frame. */
function tapOf(tap: number, pad: number, stride: number, span: PhaseSpan): { phase: number; shift: number } {
  const d = tap - pad;
  const phase = ((d % stride) + stride) % stride;
  return { phase, shift: (d - phase) / stride - span.first };
}

export type FilterGradientMethod = 'frames' | 'patches';

/**
 * Shifted products: dW[kh, kw] = sum over output pixels of x[phase][pixel + shift] * dy[pixel].
 * x is split by stride phase into zero-framed channel planes [CI, B, FH, FW] (our SIMD kernel),
 * dy is placed in a frame of the same size (zeros outside the output), and each tap is then one
 * matrix product [CI, B*FH*FW] x [B*FH*FW, CO] whose left operand is a view of the planes at the
 * tap's shift: reads that run past a channel's frames meet only zero rows of dy, and past the
 * last channel a zeroed margin. No patch matrix: x is rearranged once instead of KH*KW times, and
 * XNNPACK packs dy once for all taps (its packed-weights cache is keyed by dy's tensor id).
 */
function byFrames(x: TensorInfo, dy: TensorInfo, g: Geometry, wasm: WasmHeap, simd: SimdKernels): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = g;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = g;
  const { top, left } = g.padInfo;
  const rows = phaseSpan(KH, top, sh);
  const columns = phaseSpan(KW, left, sw);
  const FH = OH + rows.last - rows.first;
  const FW = OW + columns.last - columns.first;
  const K = B * FH * FW;
  const taps = [];
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const r = tapOf(kh, top, sh, rows);
      const c = tapOf(kw, left, sw, columns);
      taps.push({ phase: r.phase * sw + c.phase, shift: r.shift * FW + c.shift });
    }
  }
  const phases = [...new Set(taps.map((t) => t.phase))].sort((a, b) => a - b);
  const margin = (rows.last - rows.first) * FW + (columns.last - columns.first);
  const frames = wasm.allocate([phases.length * CI * K + margin]);
  const dyFrame = wasm.allocate([1, K, CO]);
  const dW = wasm.allocate([KH, KW, CI, CO]);
  let { heap, offsets } = wasm.view(x, frames, dyFrame, dy);
  const [xAt, framesAt, dyFrameAt, dyAt] = offsets as [number, number, number, number];
  phases.forEach((phase, k) => {
    simd.phaseFrame(
      xAt * 4, (framesAt + k * CI * K) * 4, B, H, W, CI,
      sh, Math.floor(phase / sw), phase % sw, rows.first, columns.first, FH, FW,
    );
  });
  heap.fill(0, framesAt + phases.length * CI * K, framesAt + phases.length * CI * K + margin);
  heap.fill(0, dyFrameAt, dyFrameAt + K * CO);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const from = dyAt + (b * OH + oh) * OW * CO;
      heap.copyWithin(dyFrameAt + ((b * FH + oh) * FW) * CO, from, from + OW * CO);
    }
  }
  taps.forEach((tap, i) => {
    const a = wasm.viewAt((framesAt + phases.indexOf(tap.phase) * CI * K + tap.shift) * 4, [1, CI, K]);
    const product = wasm.run('BatchMatMul', { a, b: dyFrame }, { transposeA: false, transposeB: false });
    wasm.releaseView(a);
    ({ heap, offsets } = wasm.view(product, dW));
    heap.copyWithin(offsets[1]! + i * CI * CO, offsets[0]!, offsets[0]! + CI * CO);
    wasm.dispose(product);
  });
  wasm.dispose(frames, dyFrame);
  return dW;
}

/** Patches: the product patches^T [KH*KW*CI, B*OH*OW] x dy [B*OH*OW, CO], in chunks of at most `patchBudget` floats. */
function byPatches(x: TensorInfo, dy: TensorInfo, g: Geometry, wasm: WasmHeap, patchBudget: number): TensorInfo {
  const { batchSize: B, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW } = g;
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

/** Frames where the SIMD kernels run and the frame border is thin, patches otherwise. */
function chooseMethod(g: Geometry, simd: SimdKernels | undefined): FilterGradientMethod {
  if (!simd) return 'patches';
  const rows = phaseSpan(g.filterHeight, g.padInfo.top, g.strideHeight);
  const columns = phaseSpan(g.filterWidth, g.padInfo.left, g.strideWidth);
  const framed = (g.outHeight + rows.last - rows.first) * (g.outWidth + columns.last - columns.first);
  return framed <= MAX_FRAME_OVERHEAD * g.outHeight * g.outWidth ? 'frames' : 'patches';
}

export interface FilterGradientOptions {
  /** Force a method (tests); by default chosen per shape. */
  method?: FilterGradientMethod;
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
  const method = options.method ?? chooseMethod(g, simd);
  if (method === 'frames') {
    if (!simd) throw new EngineError('Conv2DBackpropFilter by frames needs the SIMD kernels');
    return byFrames(x, dy, g, wasm, simd);
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
