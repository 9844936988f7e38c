/**
 * Conv2DBackpropInput for the wasm backend on XNNPACK instead of the backend's scalar loops. It is
 * both the input gradient of every convolution and the forward pass of conv2dTranspose.
 * - kernel == stride, no padding (the U-Net's 2x2/2 up-convolution): each input pixel writes its
 *   own s x s output block, so dx = depthToSpace(dy x W^T) with one GEMM.
 * - strided otherwise: one stride-1 convolution per output phase with the taps that reach it
 *   (no multiplications by inserted zeros), scattered into dx.
 * - stride 1 (and strided paddings the phases cannot express): zero-insert dy between rows/columns
 *   when strided, then a stride-1 convolution with the spatially flipped, in/out-swapped filter and
 *   the complementary padding.
 * NCHW goes to the backend's own kernel.
 */
import { backend_util, type Conv2DBackpropInputAttrs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { EngineError } from '../errors.js';
import { convGeometry } from './conv-geometry.js';
import { simdKernels } from './simd.js';
import type { WasmHeap } from './wasm-heap.js';
import { withFallback } from './with-fallback.js';

type Geometry = backend_util.Conv2DInfo;

/** [B,H,W,K*K*C] -> [B,H*K,W*K,C]: a reshape when K is 1, else our wasm kernel or the backend's. */
function depthToSpace(blocks: TensorInfo, shape: readonly [number, number, number, number], K: number, CI: number, wasm: WasmHeap): TensorInfo {
  const [B, H, W] = shape;
  if (K === 1) return wasm.reshape(blocks, [B, H, W, CI]);
  const memory = wasm.memory;
  const simd = memory && simdKernels(memory);
  if (!simd) {
    const blocks4d = wasm.reshape(blocks, [B, H, W, K * K * CI]);
    const out = wasm.run('DepthToSpace', { x: blocks4d }, { blockSize: K, dataFormat: 'NHWC' });
    wasm.dispose(blocks4d);
    return out;
  }
  const out = wasm.allocate([B, H * K, W * K, CI]);
  const [from, to] = wasm.byteOffsets(blocks, out);
  simd.depthToSpace(from!, to!, B, H, W, K, CI);
  return out;
}

/** dy [B,OH,OW,CO] -> [B,OH,OW,s*s*CI] by one GEMM, then depth-to-space. */
function blockTransposedConv(dy: TensorInfo, filter: TensorInfo, g: Geometry, wasm: WasmHeap): TensorInfo {
  const { batchSize: B, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: K, inChannels: CI } = g;
  const columns = K * K * CI;
  // W viewed as [K*K*CI, CO], transposed to [CO, K*K*CI]; a fresh tensor, as XNNPACK caches by id.
  const filter2d = wasm.reshape(filter, [columns, CO]);
  const weights = wasm.run('Transpose', { x: filter2d }, { perm: [1, 0] });
  const rows = wasm.reshape(dy, [1, B * OH * OW, CO]);
  const weights3d = wasm.reshape(weights, [1, CO, columns]);
  const blocks = wasm.run('BatchMatMul', { a: rows, b: weights3d }, { transposeA: false, transposeB: false });
  const dx = depthToSpace(blocks, [B, OH, OW, columns], K, CI, wasm);
  wasm.dispose(filter2d, rows, weights, weights3d, blocks);
  return dx;
}

/** dy with (s-1) zeros inserted between rows and columns: [B, (OH-1)*sh+1, (OW-1)*sw+1, CO]. */
function zeroInsert(dy: TensorInfo, g: Geometry, wasm: WasmHeap): TensorInfo {
  const { batchSize: B, outHeight: OH, outWidth: OW, outChannels: CO, strideHeight: sh, strideWidth: sw } = g;
  const height = (OH - 1) * sh + 1;
  const width = (OW - 1) * sw + 1;
  const out = wasm.allocate([B, height, width, CO]);
  const { heap, offsets } = wasm.view(dy, out);
  const [src, dst] = offsets as [number, number];
  heap.fill(0, dst, dst + B * height * width * CO);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const from = src + ((b * OH + oh) * OW + ow) * CO;
        heap.copyWithin(dst + ((b * height + oh * sh) * width + ow * sw) * CO, from, from + CO);
      }
    }
  }
  return out;
}

/** [KH,KW,CI,CO] -> [KH,KW,CO,CI], flipped in both spatial axes (by our wasm kernel where it loads). */
function flippedSwappedFilter(filter: TensorInfo, wasm: WasmHeap): TensorInfo {
  const [KH, KW, CI, CO] = filter.shape as [number, number, number, number];
  const out = wasm.allocate([KH, KW, CO, CI]);
  const memory = wasm.memory;
  const simd = memory && simdKernels(memory);
  if (simd) {
    const [from, to] = wasm.byteOffsets(filter, out) as [number, number];
    simd.flipSwapFilter(from, to, KH * KW, CI, CO);
    return out;
  }
  const { heap, offsets } = wasm.view(filter, out);
  const [src, dst] = offsets as [number, number];
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const from = src + ((KH - 1 - kh) * KW + (KW - 1 - kw)) * CI * CO;
      const to = dst + (kh * KW + kw) * CO * CI;
      for (let ci = 0; ci < CI; ci++) {
        for (let co = 0; co < CO; co++) heap[to + co * CI + ci] = heap[from + ci * CO + co]!;
      }
    }
  }
  return out;
}

/**
 * One output phase along an axis: the inputs i = q*s + r (q = 0..count-1) receive taps
 * k = first + (taps-1-j)*s (j = 0..taps-1) of dy rows q + j - before.
 */
interface Phase {
  readonly r: number;
  readonly count: number;
  readonly first: number;
  readonly taps: number;
  readonly before: number;
  readonly after: number;
}

/** The s phases of one axis: input size `size`, kernel `k`, stride `s`, padding `top`, output `out`. */
function phasesOf(size: number, k: number, s: number, top: number, out: number): Phase[] {
  return Array.from({ length: s }, (_, r) => {
    const first = (((r + top) % s) + s) % s;
    const taps = first < k ? Math.ceil((k - first) / s) : 0;
    const count = r < size ? Math.ceil((size - r) / s) : 0;
    const before = taps - 1 - (r + top - first) / s;
    return { r, count, first, taps, before, after: count - out - before + taps - 1 };
  });
}

/** The taps of `filter` that reach one output phase, [taps_h, taps_w, CO, CI], flipped and in/out-swapped. */
function phaseFilter(filter: TensorInfo, ph: Phase, pw: Phase, g: Geometry, wasm: WasmHeap): TensorInfo {
  const { inChannels: CI, outChannels: CO, filterWidth: KW, strideHeight: sh, strideWidth: sw } = g;
  const sub = wasm.allocate([ph.taps, pw.taps, CO, CI]);
  const { heap, offsets } = wasm.view(filter, sub);
  const [src, dst] = offsets as [number, number];
  for (let jh = 0; jh < ph.taps; jh++) {
    for (let jw = 0; jw < pw.taps; jw++) {
      const kh = ph.first + (ph.taps - 1 - jh) * sh;
      const kw = pw.first + (pw.taps - 1 - jw) * sw;
      const from = src + (kh * KW + kw) * CI * CO;
      const to = dst + (jh * pw.taps + jw) * CO * CI;
      for (let ci = 0; ci < CI; ci++) {
        for (let co = 0; co < CO; co++) heap[to + co * CI + ci] = heap[from + ci * CO + co]!;
      }
    }
  }
  return sub;
}

/** Writes one phase's dense result (float offset `from`) to every stride-th pixel of dx (at `to`). */
function scatterPhase(heap: Float32Array, from: number, to: number, ph: Phase, pw: Phase, g: Geometry): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, strideHeight: sh, strideWidth: sw } = g;
  for (let b = 0; b < B; b++) {
    for (let qh = 0; qh < ph.count; qh++) {
      const src = from + ((b * ph.count + qh) * pw.count) * CI;
      const dst = to + ((b * H + qh * sh + ph.r) * W + pw.r) * CI;
      for (let qw = 0; qw < pw.count; qw++) heap.copyWithin(dst + qw * sw * CI, src + qw * CI, src + (qw + 1) * CI);
    }
  }
}

/**
 * Strided input gradient without zero insertion: each of the sh*sw output phases is a stride-1
 * convolution of dy with the taps that reach it (a quarter of the work for stride 2), scattered
 * into dx (by our wasm kernel where it loads, one bulk copy per pixel). Undefined when a phase would need cropping (unusual paddings); the caller falls back.
 */
export function conv2dBackpropInputByPhases(dy: TensorInfo, filter: TensorInfo, g: Geometry, wasm: WasmHeap): TensorInfo | undefined {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = g;
  const rows = phasesOf(H, KH, sh, g.padInfo.top, OH);
  const cols = phasesOf(W, KW, sw, g.padInfo.left, OW);
  const usable = (p: Phase) => p.count === 0 || p.taps === 0 || (p.before >= 0 && p.after >= 0);
  if (!rows.every(usable) || !cols.every(usable)) return undefined;
  const dx = wasm.allocate([B, H, W, CI]);
  const memory = wasm.memory;
  const simd = memory && simdKernels(memory);
  if (rows.some((p) => p.taps === 0) || cols.some((p) => p.taps === 0)) {
    const { heap, offsets } = wasm.view(dx);
    heap.fill(0, offsets[0]!, offsets[0]! + B * H * W * CI);
  }
  for (const ph of rows) {
    for (const pw of cols) {
      if (ph.count === 0 || pw.count === 0 || ph.taps === 0 || pw.taps === 0) continue;
      const sub = phaseFilter(filter, ph, pw, g, wasm);
      const part = wasm.run(
        'Conv2D',
        { x: dy, filter: sub },
        { strides: [1, 1], pad: [[0, 0], [ph.before, ph.after], [pw.before, pw.after], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] },
      );
      const { heap, offsets } = wasm.view(part, dx);
      const [from, to] = offsets as [number, number];
      if (simd) simd.scatterPhase(from * 4, to * 4, B, ph.count, pw.count, H, W, CI, sh, sw, ph.r, pw.r);
      else scatterPhase(heap, from, to, ph, pw, g);
      wasm.dispose(sub, part);
    }
  }
  return dx;
}

function viaFlippedConvolution(dy: TensorInfo, filter: TensorInfo, g: Geometry, wasm: WasmHeap): TensorInfo {
  const { inHeight: H, inWidth: W, filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = g;
  const strided = sh > 1 || sw > 1;
  const spread = strided ? zeroInsert(dy, g, wasm) : dy;
  const [, height, width] = spread.shape as [number, number, number, number];
  const top = KH - 1 - g.padInfo.top;
  const left = KW - 1 - g.padInfo.left;
  const bottom = H - height - top + KH - 1;
  const right = W - width - left + KW - 1;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) {
    throw new EngineError(`Conv2DBackpropInput: padding ${JSON.stringify(g.padInfo)} exceeds the filter`);
  }
  const flipped = flippedSwappedFilter(filter, wasm);
  const dx = wasm.run(
    'Conv2D',
    { x: spread, filter: flipped },
    { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] },
  );
  wasm.dispose(flipped);
  if (strided) wasm.dispose(spread);
  return dx;
}

export function conv2dBackpropInput(dy: TensorInfo, filter: TensorInfo, attrs: Conv2DBackpropInputAttrs, wasm: WasmHeap): TensorInfo {
  const { strides, pad, dimRoundingMode, inputShape } = attrs;
  const g = convGeometry('Conv2DBackpropInput', inputShape, filter.shape, strides, pad, dimRoundingMode, dy);
  const { top, bottom, left, right } = g.padInfo;
  const blockwise =
    g.filterHeight === g.strideHeight &&
    g.filterWidth === g.strideWidth &&
    g.filterHeight === g.filterWidth &&
    top + bottom + left + right === 0 &&
    g.outHeight * g.strideHeight === g.inHeight &&
    g.outWidth * g.strideWidth === g.inWidth;
  if (blockwise) return blockTransposedConv(dy, filter, g, wasm);
  const strided = g.strideHeight > 1 || g.strideWidth > 1;
  return (strided ? conv2dBackpropInputByPhases(dy, filter, g, wasm) : undefined) ?? viaFlippedConvolution(dy, filter, g, wasm);
}

/** Our kernel for NHWC; `original` (the backend's own, set up as before) for other layouts. */
export function conv2dBackpropInputConfig(original: KernelConfig | undefined): KernelConfig {
  return withFallback('Conv2DBackpropInput', original, ({ inputs, attrs }, heap) => {
    const convAttrs = attrs as unknown as Conv2DBackpropInputAttrs;
    if (backend_util.convertConv2DDataFormat(convAttrs.dataFormat) !== 'channelsLast') return undefined;
    return conv2dBackpropInput(inputs['dy']!, inputs['filter']!, convAttrs, heap);
  });
}
