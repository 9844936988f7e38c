import { HarmonisationError } from './errors.js';

/**
 * An intensity histogram over [low, high] in equal bins. Plain numbers only, so that it can travel
 * in a protocol message; after differential-privacy noise the counts need not be integers.
 */
export interface IntensityHistogram {
  readonly low: number;
  readonly high: number;
  readonly counts: readonly number[];
}

export interface HistogramOptions {
  readonly bins: number;
  readonly low: number;
  readonly high: number;
  /** Only voxels where the mask is non-zero are counted. */
  readonly mask?: Uint8Array;
}

/** Counts values into bins; values outside [low, high] go to the end bins. */
export function buildHistogram(values: ArrayLike<number>, options: HistogramOptions): IntensityHistogram {
  const { bins, low, high, mask } = options;
  if (!Number.isInteger(bins) || bins < 1) throw new HarmonisationError(`histogram bins must be a positive integer, got ${bins}`);
  if (!(Number.isFinite(low) && Number.isFinite(high) && high > low)) throw new HarmonisationError(`histogram range [${low}, ${high}] is empty`);
  if (mask && mask.length !== values.length) throw new HarmonisationError(`mask has ${mask.length} voxels, image ${values.length}`);
  const counts = new Array<number>(bins).fill(0);
  const scale = bins / (high - low);
  for (let i = 0; i < values.length; i++) {
    if (mask && !mask[i]) continue;
    const v = values[i]!;
    if (Number.isNaN(v)) throw new HarmonisationError(`value at voxel ${i} is NaN`);
    const bin = Math.floor((v - low) * scale);
    counts[bin < 0 ? 0 : bin >= bins ? bins - 1 : bin]!++;
  }
  return { low, high, counts };
}

/** Sums histograms with identical binning (e.g. the slices of a site). */
export function addHistograms(histograms: readonly IntensityHistogram[]): IntensityHistogram {
  const first = histograms[0];
  if (!first) throw new HarmonisationError('no histograms to add');
  const counts = new Array<number>(first.counts.length).fill(0);
  for (const h of histograms) {
    assertSameBinning(first, h);
    h.counts.forEach((c, i) => (counts[i]! += c));
  }
  return { low: first.low, high: first.high, counts };
}

export function validateHistogram(h: IntensityHistogram, what = 'histogram'): void {
  if (!(Number.isFinite(h.low) && Number.isFinite(h.high) && h.high > h.low)) throw new HarmonisationError(`${what}: range [${h.low}, ${h.high}] is empty`);
  if (h.counts.length < 1) throw new HarmonisationError(`${what}: no bins`);
  if (!h.counts.every((c) => Number.isFinite(c) && c >= 0)) throw new HarmonisationError(`${what}: counts must be finite and non-negative`);
  if (h.counts.reduce((a, b) => a + b, 0) <= 0) throw new HarmonisationError(`${what}: holds no mass`);
}

export function assertSameBinning(a: IntensityHistogram, b: IntensityHistogram): void {
  if (a.low !== b.low || a.high !== b.high || a.counts.length !== b.counts.length) {
    throw new HarmonisationError(
      `histograms binned differently: [${a.low}, ${a.high}] in ${a.counts.length} vs [${b.low}, ${b.high}] in ${b.counts.length}`,
    );
  }
}

/** Counts as probabilities summing to 1. */
export function probabilities(h: IntensityHistogram): number[] {
  validateHistogram(h);
  const total = h.counts.reduce((a, b) => a + b, 0);
  return h.counts.map((c) => c / total);
}
