import { HarmonisationError } from './errors.js';
import { quantileOfSorted, sortedValues } from './quantiles.js';

export interface NormaliseOptions {
  /** Percentiles (0-100) mapped to 0 and 1; values beyond are clipped. Robust to a few hot voxels. */
  readonly lowerPercentile?: number;
  readonly upperPercentile?: number;
}

/**
 * Voxels that carry no signal: exact zeros, the padding of zero-padded slices (EMIDEC). They are
 * left out of every intensity statistic here and stay 0.
 */
export function signalMask(image: Float32Array): Uint8Array {
  const mask = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) mask[i] = image[i] !== 0 ? 1 : 0;
  return mask;
}

/**
 * Robust min-max normalisation to [0, 1] between two percentiles of the signal voxels, so that
 * sites with different scanner scales become comparable before their distributions are compared.
 */
export function normaliseIntensities(image: Float32Array, options: NormaliseOptions = {}): Float32Array {
  const lowerPercentile = options.lowerPercentile ?? 1;
  const upperPercentile = options.upperPercentile ?? 99;
  if (!(lowerPercentile >= 0 && upperPercentile <= 100 && lowerPercentile < upperPercentile)) {
    throw new HarmonisationError(`normalisation percentiles must satisfy 0 <= lower < upper <= 100, got ${lowerPercentile}, ${upperPercentile}`);
  }
  const mask = signalMask(image);
  const sorted = sortedValues(image, mask);
  const out = new Float32Array(image.length);
  if (sorted.length === 0) return out;
  const low = quantileOfSorted(sorted, lowerPercentile / 100);
  const high = quantileOfSorted(sorted, upperPercentile / 100);
  const scale = high > low ? 1 / (high - low) : 0;
  for (let i = 0; i < image.length; i++) {
    if (!mask[i]) continue;
    const v = (image[i]! - low) * scale;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}
