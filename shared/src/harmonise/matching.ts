import { HarmonisationError } from './errors.js';
import type { IntensityHistogram } from './histogram.js';
import { histogramQuantileFunction, quantileAt, sortedValues, validateQuantileTable, type QuantileTable } from './quantiles.js';

export interface MatchOptions {
  /** Only voxels where the mask is non-zero are matched (and define the source distribution); others keep their value. */
  readonly mask?: Uint8Array;
}

function isHistogram(reference: IntensityHistogram | QuantileTable): reference is IntensityHistogram {
  return 'counts' in reference;
}

/**
 * Histogram matching against a reference known only by its histogram or quantile table: each voxel
 * value moves to the reference quantile of its own rank, q = (voxels <= value) / voxels, the same
 * rule as skimage.exposure.match_histograms, so equal values stay equal and order is kept.
 */
export function matchHistogram(image: Float32Array, reference: IntensityHistogram | QuantileTable, options: MatchOptions = {}): Float32Array {
  // A histogram is used at full resolution: resampling it to fixed probabilities would blur sparse tails.
  const table = isHistogram(reference) ? histogramQuantileFunction(reference) : reference;
  validateQuantileTable(table, 'reference');
  const { mask } = options;
  const sorted = sortedValues(image, mask);
  if (sorted.length === 0) throw new HarmonisationError('no voxels to match');
  const out = Float32Array.from(image);
  // Sorting a float32 image widens it to float64 exactly, so the search compares identical values.
  let cachedValue = NaN;
  let cachedResult = 0;
  for (let i = 0; i < image.length; i++) {
    if (mask && !mask[i]) continue;
    const value = image[i]!;
    if (value !== cachedValue) {
      cachedValue = value;
      cachedResult = quantileAt(table, upperBound(sorted, value) / sorted.length);
    }
    out[i] = cachedResult;
  }
  return out;
}

/** Index of the first element greater than value. */
function upperBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
