/**
 * Whole-slice inference by overlapping windows, as nnU-Net does: windows of the network's input size
 * tile each slice with at least 50 % overlap, each window's softmax is weighted by a Gaussian that
 * trusts its centre more than its borders, and the weighted means are each pixel's class
 * probabilities. Windows of all slices are batched together; mirroring adds the x, y and xy flips of
 * every window.
 */
import type { Slice } from '../types.js';
import type { ProbabilityEngine } from './probability-engine.js';

export class SlidingWindowError extends Error {
  override readonly name = 'SlidingWindowError';
}

/**
 * Window start positions along one axis: the first at 0, the last flush with the end, evenly spaced
 * with steps of at most `stepFraction` of the window (nnU-Net's compute_steps_for_sliding_window).
 */
export function windowStarts(length: number, window: number, stepFraction = 0.5): number[] {
  if (length < window) throw new SlidingWindowError(`slice side ${length} is smaller than the window ${window}; pad it first`);
  if (!(stepFraction > 0 && stepFraction <= 1)) throw new SlidingWindowError(`step fraction must be in (0, 1], got ${stepFraction}`);
  if (length === window) return [0];
  const count = Math.ceil((length - window) / (window * stepFraction)) + 1;
  const step = (length - window) / (count - 1);
  return Array.from({ length: count }, (_, i) => Math.round(i * step));
}

/**
 * Importance of each window pixel: a Gaussian with σ = window / 8 about the centre, peak 1, never 0
 * (nnU-Net): predictions near a window's border, which sees less context, count for less.
 */
export function gaussianImportance(window: number): Float32Array {
  const sigma = window / 8;
  const centre = (window - 1) / 2;
  const profile = Float32Array.from({ length: window }, (_, i) => Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma)));
  const out = new Float32Array(window * window);
  let smallest = Infinity;
  for (let y = 0; y < window; y++) {
    for (let x = 0; x < window; x++) {
      const v = profile[y]! * profile[x]!;
      out[y * window + x] = v;
      if (v > 0 && v < smallest) smallest = v;
    }
  }
  for (let i = 0; i < out.length; i++) if (out[i] === 0) out[i] = smallest;
  return out;
}

export interface SlidingWindowOptions {
  /** Network input size: windows are window x window. */
  readonly window: number;
  /** Also run each window's x, y and xy mirror images and average (4x the work). */
  readonly mirror?: boolean;
  /** Windows per engine call (default 8). */
  readonly batchSize?: number;
  /** Largest step between windows as a fraction of the window (default 0.5: 50 % overlap). */
  readonly stepFraction?: number;
}

interface Placement {
  readonly slice: number;
  readonly x0: number;
  readonly y0: number;
}

/** Mirror variants as (flip x, flip y). */
const MIRRORS: readonly (readonly [boolean, boolean])[] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

/**
 * Class probabilities of every pixel (classes interleaved), one array per input slice: the
 * Gaussian-weighted mean of the softmax of every window over the pixel.
 */
export async function slidingWindowProbabilities(
  engine: ProbabilityEngine,
  slices: readonly Pick<Slice, 'image' | 'width' | 'height'>[],
  options: SlidingWindowOptions,
): Promise<Float32Array[]> {
  const { window } = options;
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new SlidingWindowError(`batchSize must be a positive integer, got ${batchSize}`);
  const mirrors = options.mirror ? MIRRORS : MIRRORS.slice(0, 1);
  const classes = engine.classes;
  const placements: Placement[] = [];
  slices.forEach((s, slice) => {
    if (s.image.length !== s.width * s.height) throw new SlidingWindowError(`slice ${slice} has ${s.image.length} pixels, expected ${s.width}x${s.height}`);
    for (const y0 of windowStarts(s.height, window, options.stepFraction)) for (const x0 of windowStarts(s.width, window, options.stepFraction)) placements.push({ slice, x0, y0 });
  });
  // Weighted probability sums; a pixel's classes sum to its windows' summed weight, which divides them at the end.
  const sums = slices.map((s) => new Float32Array(s.width * s.height * classes));
  const importance = gaussianImportance(window);
  const plane = window * window;
  const perCall = Math.max(1, Math.floor(batchSize / mirrors.length)) * mirrors.length;
  for (let start = 0; start < placements.length * mirrors.length; start += perCall) {
    const count = Math.min(perCall, placements.length * mirrors.length - start);
    const input = new Float32Array(count * plane);
    for (let j = 0; j < count; j++) {
      const { slice, x0, y0 } = placements[Math.floor((start + j) / mirrors.length)]!;
      const [fx, fy] = mirrors[(start + j) % mirrors.length]!;
      const { image, width } = slices[slice]!;
      for (let y = 0; y < window; y++) {
        const row = (y0 + (fy ? window - 1 - y : y)) * width + x0;
        const out = j * plane + y * window;
        if (fx) for (let x = 0; x < window; x++) input[out + x] = image[row + window - 1 - x]!;
        else input.set(image.subarray(row, row + window), out);
      }
    }
    const probabilities = await engine.probabilities(input, count, window);
    if (probabilities.length !== count * plane * classes) throw new SlidingWindowError(`engine returned ${probabilities.length} values, expected ${count * plane * classes}`);
    for (let j = 0; j < count; j++) {
      const { slice, x0, y0 } = placements[Math.floor((start + j) / mirrors.length)]!;
      const [fx, fy] = mirrors[(start + j) % mirrors.length]!;
      const sum = sums[slice]!;
      const width = slices[slice]!.width;
      for (let y = 0; y < window; y++) {
        // Output pixel (x, y) of a flipped window belongs to the flipped position of the slice.
        const sliceRow = (y0 + (fy ? window - 1 - y : y)) * width + x0;
        const outRow = j * plane + y * window;
        for (let x = 0; x < window; x++) {
          const sx = fx ? window - 1 - x : x;
          const weight = importance[(fy ? window - 1 - y : y) * window + sx]!;
          const from = (outRow + x) * classes;
          const to = (sliceRow + sx) * classes;
          for (let c = 0; c < classes; c++) sum[to + c]! += weight * probabilities[from + c]!;
        }
      }
    }
  }
  for (const sum of sums) {
    for (let i = 0; i < sum.length; i += classes) {
      let weight = 0;
      for (let c = 0; c < classes; c++) weight += sum[i + c]!;
      for (let c = 0; c < classes; c++) sum[i + c]! /= weight;
    }
  }
  return sums;
}
