import { HarmonisationError } from './errors.js';
import { validateHistogram, type IntensityHistogram } from './histogram.js';

/**
 * A distribution given by its quantile function at a few probabilities (ascending, from 0 to 1),
 * linear in between. What a site receives about the reference instead of reference images.
 */
export interface QuantileTable {
  readonly probabilities: readonly number[];
  readonly values: readonly number[];
}

export function validateQuantileTable(table: QuantileTable, what = 'quantile table'): void {
  const { probabilities: p, values: v } = table;
  if (p.length < 2 || p.length !== v.length) throw new HarmonisationError(`${what}: needs at least two (probability, value) pairs of equal count`);
  if (p[0] !== 0 || p[p.length - 1] !== 1) throw new HarmonisationError(`${what}: probabilities must run from 0 to 1`);
  for (let i = 0; i < p.length; i++) {
    if (!Number.isFinite(p[i]!) || !Number.isFinite(v[i]!)) throw new HarmonisationError(`${what}: non-finite entry at ${i}`);
    if (i > 0 && !(p[i]! > p[i - 1]!)) throw new HarmonisationError(`${what}: probabilities must increase strictly`);
    if (i > 0 && v[i]! < v[i - 1]!) throw new HarmonisationError(`${what}: values must not decrease`);
  }
}

/** Evenly spaced probabilities 0, 1/(n-1), ..., 1. */
export function evenProbabilities(n: number): number[] {
  if (!Number.isInteger(n) || n < 2) throw new HarmonisationError(`need at least 2 quantile probabilities, got ${n}`);
  return Array.from({ length: n }, (_, i) => i / (n - 1));
}

/**
 * A histogram's full quantile function as a table: knots at each occupied bin's upper edge and its
 * cumulative mass (plus the first occupied bin's lower edge at 0), linear in between, i.e. mass
 * spread uniformly within bins and nothing in empty ones. Across empty bins it interpolates like
 * skimage's match_histograms does between the reference's distinct values.
 */
export function histogramQuantileFunction(h: IntensityHistogram): QuantileTable {
  validateHistogram(h);
  const total = h.counts.reduce((a, b) => a + b, 0);
  const width = (h.high - h.low) / h.counts.length;
  const values: number[] = [];
  const probabilities: number[] = [];
  let cumulative = 0;
  h.counts.forEach((count, i) => {
    if (count <= 0) return;
    if (values.length === 0) {
      values.push(h.low + i * width);
      probabilities.push(0);
    }
    cumulative += count;
    values.push(h.low + (i + 1) * width);
    probabilities.push(cumulative / total);
  });
  probabilities[probabilities.length - 1] = 1;
  return { probabilities, values };
}

/** Quantiles of a histogram at the given probabilities (see histogramQuantileFunction). */
export function quantilesFromHistogram(h: IntensityHistogram, probabilities: readonly number[] = evenProbabilities(101)): QuantileTable {
  const full = histogramQuantileFunction(h);
  return { probabilities: [...probabilities], values: probabilities.map((p) => quantileAt(full, p)) };
}

/** Exact sample quantiles (linear interpolation between order statistics, as numpy's default). */
export function quantilesFromValues(values: ArrayLike<number>, probabilities: readonly number[] = evenProbabilities(101), mask?: Uint8Array): QuantileTable {
  const sorted = sortedValues(values, mask);
  if (sorted.length === 0) throw new HarmonisationError('no voxels to take quantiles of');
  return { probabilities: [...probabilities], values: probabilities.map((p) => quantileOfSorted(sorted, p)) };
}

export function sortedValues(values: ArrayLike<number>, mask?: Uint8Array): Float64Array {
  if (mask && mask.length !== values.length) throw new HarmonisationError(`mask has ${mask.length} voxels, image ${values.length}`);
  const kept = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!mask || mask[i]) kept[n++] = values[i]!;
  return kept.subarray(0, n).sort();
}

export function quantileOfSorted(sorted: Float64Array, p: number): number {
  const position = p * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/** The table's quantile function at probability p (clamped to [0, 1]). */
export function quantileAt(table: QuantileTable, p: number): number {
  return interpolate(p, table.probabilities, table.values);
}

/** Piecewise-linear y(x) through knots with ascending xs, constant beyond the ends (like numpy.interp). */
export function interpolate(x: number, xs: readonly number[], ys: readonly number[]): number {
  const last = xs.length - 1;
  if (x <= xs[0]!) return ys[0]!;
  if (x >= xs[last]!) return ys[last]!;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const span = xs[hi]! - xs[lo]!;
  return span > 0 ? ys[lo]! + ((ys[hi]! - ys[lo]!) * (x - xs[lo]!)) / span : ys[hi]!;
}
