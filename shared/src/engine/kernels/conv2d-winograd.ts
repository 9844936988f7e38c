/**
 * Stride-1 3x3 NHWC convolutions (most of a U-Net's multiply-adds) by Winograd's minimal filtering
 * in our SIMD kernels: F(2x2, 3x3) (shared/wasm/winograd.ts, 2.25x fewer multiplications than
 * direct convolution) or F(4x4, 3x3) (shared/wasm/winograd-f4.ts, 4x fewer), the tiles shared out
 * over the kernel helper threads: the wasm backend's Conv2D (forward, and through
 * conv2d-backprop-input.ts the input gradient) and the filter gradient (conv2d-backprop-filter.ts).
 * Everything else, and runtimes without our SIMD kernels, go to the backend's own Conv2D (XNNPACK)
 * and our direct filter gradient.
 */
import { backend_util, type Conv2DAttrs, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { kernelPool, runOverSamples } from './kernel-pool.js';
import { simdKernels } from './simd.js';
import type { WasmHeap } from './wasm-heap.js';
import { withFallback } from './with-fallback.js';

type Geometry = backend_util.Conv2DInfo;

/** Output tile side: F(2x2, 3x3) or F(4x4, 3x3). */
export type WinogradTile = 2 | 4;
/** Transformed positions of a tile's input patch (side tile + 2). */
const positionsOf = (tile: WinogradTile) => (tile + 2) ** 2;
/** The F(4x4, 3x3) kernels' transform buffer (52 vectors in shared/wasm/winograd-f4.ts). */
const TMP_FLOATS = 52 * 4;
/** Floats added per position and per row of a block's transformed data (POSITION_SKEW, ROW_SKEW in shared/wasm/winograd.ts). */
const POSITION_SKEW_FLOATS = 16;
const ROW_SKEW_FLOATS = 4;
/**
 * Tiles per block (a multiple of 4, the products' register tile): every block streams the whole
 * transformed filter (16 or 36 x CI x CO), so wide layers want long blocks; measured with F(2x2) at
 * 1024 channels, 64 tiles took 0.7x the time of 8, and made no difference at 16-256 channels.
 */
const BLOCK_TILES = 64;
/** A transformed filter this size stays in a last-level cache while blocks stream it again and again. */
const CACHED_FILTER_BYTES = 16 * 2 ** 20;

/**
 * F(4x4, 3x3) where it still fills whole blocks (each thread then streams its transformed filter,
 * 36 x CI x CO floats, once per 64 tiles) or where that filter stays cached, else F(2x2, 3x3).
 * Measured on 2 threads, batch 8: F(4x4) took 0.65-0.75x the time of F(2x2) at 128x128x16 and
 * 32x32x256, about the same at 16x16x512, and 1.1-1.5x at 8x8x1024 (32 tiles against 128, and a
 * 151 MB transformed filter streamed from memory for every 16 of them).
 */
export function winogradTileFor(g: Geometry, threads: number): WinogradTile {
  const tiles = g.batchSize * Math.ceil(g.outHeight / 4) * Math.ceil(g.outWidth / 4);
  return tiles >= threads * BLOCK_TILES || positionsOf(4) * g.inChannels * g.outChannels * 4 <= CACHED_FILTER_BYTES ? 4 : 2;
}

/**
 * Fewest channels taken on either side: shorter products hardly pay for the transforms (not
 * measured below 8; the U-Net's one-channel first layer stays on XNNPACK in any case).
 */
const MIN_CHANNELS = 8;

/** Whether our Winograd kernels compute this convolution: 3x3, stride 1, no dilation, channels in fours. */
export function winogradApplies(g: Geometry): boolean {
  return (
    g.filterHeight === 3 && g.filterWidth === 3 &&
    g.strideHeight === 1 && g.strideWidth === 1 &&
    g.dilationHeight === 1 && g.dilationWidth === 1 &&
    g.inChannels % 4 === 0 && g.outChannels % 4 === 0 &&
    g.inChannels >= MIN_CHANNELS && g.outChannels >= MIN_CHANNELS &&
    g.dataFormat === 'channelsLast'
  );
}

/**
 * How a call runs, or undefined when the SIMD kernels do not run here or the geometry does not
 * apply: the tile size (`tileSide`, else winogradTileFor's), blocks (shorter when there are too
 * few tiles to give every thread one), threads (at most one per block) and each thread's scratch.
 */
function plan(g: Geometry, wasm: WasmHeap, tileSide: WinogradTile | undefined) {
  const memory = wasm.memory;
  const simd = memory && simdKernels(memory);
  if (!memory || !simd || !winogradApplies(g)) return undefined;
  const pool = kernelPool(memory);
  const tile = tileSide ?? winogradTileFor(g, pool?.threads ?? 1);
  const positions = positionsOf(tile);
  const tiles = g.batchSize * Math.ceil(g.outHeight / tile) * Math.ceil(g.outWidth / tile);
  const blockTiles = Math.min(BLOCK_TILES, Math.ceil(tiles / (pool?.threads ?? 1) / 4) * 4);
  const threads = Math.max(1, Math.min(pool?.threads ?? 1, Math.ceil(tiles / blockTiles)));
  // Transformed input and products (or output gradient) of a block, one zero-padded patch, the transform buffer.
  const scratchFloats =
    positions * (blockTiles * (g.inChannels + g.outChannels + 2 * ROW_SKEW_FLOATS) + 2 * POSITION_SKEW_FLOATS) + positions * g.inChannels + TMP_FLOATS;
  return { simd, tile, positions, tiles, blockTiles, pool, threads, scratchFloats };
}

/**
 * The convolution of x with `filter` ([3, 3, CI, CO]) by Winograd F(tile x tile, 3x3), or undefined
 * when the SIMD kernels do not run here or the geometry does not apply (the caller falls back).
 */
export function conv2dWinograd(x: TensorInfo, filter: TensorInfo, g: Geometry, wasm: WasmHeap, tileSide?: WinogradTile): TensorInfo | undefined {
  const planned = plan(g, wasm, tileSide);
  if (!planned) return undefined;
  const { simd, tile, positions, tiles, blockTiles, pool, threads, scratchFloats } = planned;
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = g;
  const out = wasm.allocate([B, OH, OW, CO]);
  const u = wasm.allocate([positions, CI, CO]);
  const scratch = wasm.allocate([threads, scratchFloats]);
  const [xAt, filterAt, outAt, uAt, scratchAt] = wasm.byteOffsets(x, filter, out, u, scratch) as [number, number, number, number, number];
  if (tile === 4) simd.winograd4Filter(filterAt, uAt, scratchAt, CI, CO);
  else simd.winogradFilter(filterAt, uAt, CI, CO);
  runOverSamples(pool, 'winogradConv', tiles, simd.winogradConv, ({ first, count }, t) => [
    xAt, uAt, outAt, scratchAt + t * scratchFloats * 4, first, count, blockTiles, tile,
    H, W, CI, OH, OW, CO, g.padInfo.top, g.padInfo.left,
  ], threads);
  wasm.dispose(u, scratch);
  return out;
}

/**
 * dW [3, 3, CI, CO] of the convolution of x that gave `dy`, by Winograd F(tile x tile, 3x3) (each
 * thread sums its tiles into its own Winograd-domain accumulators, reduced in the final
 * transform), or undefined as conv2dWinograd.
 */
export function conv2dBackpropFilterWinograd(
  x: TensorInfo,
  dy: TensorInfo,
  g: Geometry,
  wasm: WasmHeap,
  tileSide?: WinogradTile,
): TensorInfo | undefined {
  const planned = plan(g, wasm, tileSide);
  if (!planned) return undefined;
  const { simd, tile, positions, tiles, blockTiles, pool, threads, scratchFloats } = planned;
  const { inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = g;
  const accumulatorFloats = positions * CI * CO;
  const dW = wasm.allocate([3, 3, CI, CO]);
  const accumulators = wasm.allocate([threads, accumulatorFloats]);
  const scratch = wasm.allocate([threads, scratchFloats]);
  const { heap, offsets } = wasm.view(x, dy, dW, accumulators, scratch);
  const [xAt, dyAt, dWAt, accAt, scratchAt] = offsets as [number, number, number, number, number];
  heap.fill(0, accAt, accAt + threads * accumulatorFloats);
  runOverSamples(pool, 'winogradFilterGradient', tiles, simd.winogradFilterGradient, ({ first, count }, t) => [
    xAt * 4, dyAt * 4, (accAt + t * accumulatorFloats) * 4, (scratchAt + t * scratchFloats) * 4, first, count, blockTiles, tile,
    H, W, CI, OH, OW, CO, g.padInfo.top, g.padInfo.left,
  ], threads);
  if (tile === 4) simd.winograd4FilterGradientOut(accAt * 4, threads, accumulatorFloats * 4, dWAt * 4, scratchAt * 4, CI, CO);
  else simd.winogradFilterGradientOut(accAt * 4, threads, accumulatorFloats * 4, dWAt * 4, CI, CO);
  wasm.dispose(accumulators, scratch);
  return dW;
}

/** Our Winograd kernel where it applies; `original` (the backend's own, set up as before) otherwise. */
export function conv2dConfig(original: KernelConfig | undefined): KernelConfig {
  return withFallback('Conv2D', original, ({ inputs, attrs }, heap) => {
    const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as Conv2DAttrs;
    const g = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      strides,
      dilations,
      pad,
      dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(dataFormat),
    );
    return conv2dWinograd(x, filter, g, heap);
  });
}
