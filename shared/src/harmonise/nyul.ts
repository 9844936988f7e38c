import { HarmonisationError } from './errors.js';
import { interpolate, quantileAt, quantileOfSorted, sortedValues, validateQuantileTable, type QuantileTable } from './quantiles.js';

/** Nyúl & Udupa's landmarks: the 1st and 99th percentiles and the deciles in between. */
export const NYUL_PERCENTILES: readonly number[] = [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99];

/** Standard landmark positions: the intensity each landmark percentile maps to. */
export interface NyulStandard {
  readonly percentiles: readonly number[];
  readonly landmarks: readonly number[];
}

export interface NyulOptions {
  readonly percentiles?: readonly number[];
  /** Standard scale the outer landmarks map to (default [0, 1]). */
  readonly scale?: readonly [number, number];
}

function validatePercentiles(percentiles: readonly number[]): void {
  if (percentiles.length < 2) throw new HarmonisationError('Nyúl standardisation needs at least two landmark percentiles');
  percentiles.forEach((p, i) => {
    if (!(p > 0 && p < 100)) throw new HarmonisationError(`landmark percentile ${p} must lie strictly between 0 and 100`);
    if (i > 0 && !(p > percentiles[i - 1]!)) throw new HarmonisationError('landmark percentiles must increase');
  });
}

function imageLandmarks(image: Float32Array, percentiles: readonly number[], mask?: Uint8Array): number[] {
  const sorted = sortedValues(image, mask);
  if (sorted.length === 0) throw new HarmonisationError('no voxels to take landmarks from');
  return percentiles.map((p) => quantileOfSorted(sorted, p / 100));
}

/**
 * Learns the standard from training images (the reference side): each image's landmarks are mapped
 * linearly so its outer landmarks hit the scale ends, and the inner landmarks are averaged.
 */
export function learnNyulStandard(images: readonly Float32Array[], options: NyulOptions & { masks?: readonly Uint8Array[] } = {}): NyulStandard {
  const percentiles = options.percentiles ?? NYUL_PERCENTILES;
  const [s1, s2] = options.scale ?? [0, 1];
  validatePercentiles(percentiles);
  if (images.length === 0) throw new HarmonisationError('no images to learn a Nyúl standard from');
  const sums = new Array<number>(percentiles.length).fill(0);
  images.forEach((image, k) => {
    const marks = imageLandmarks(image, percentiles, options.masks?.[k]);
    const first = marks[0]!;
    const last = marks[marks.length - 1]!;
    if (!(last > first)) throw new HarmonisationError(`image ${k} has a flat intensity distribution between its outer landmarks`);
    marks.forEach((m, i) => (sums[i]! += s1 + ((m - first) / (last - first)) * (s2 - s1)));
  });
  return { percentiles: [...percentiles], landmarks: sums.map((s) => s / images.length) };
}

/** The standard read off a reference quantile table (a site never needs reference images). */
export function nyulStandardFromQuantiles(reference: QuantileTable, percentiles: readonly number[] = NYUL_PERCENTILES): NyulStandard {
  validateQuantileTable(reference, 'reference');
  validatePercentiles(percentiles);
  return { percentiles: [...percentiles], landmarks: percentiles.map((p) => quantileAt(reference, p / 100)) };
}

/**
 * Maps an image piecewise-linearly from its own landmarks to the standard's, extending the first
 * and last segments beyond the outer landmarks. Coarser than full histogram matching (a few
 * landmarks instead of the whole CDF), and so gentler on the image's texture.
 */
export function applyNyulStandardisation(image: Float32Array, standard: NyulStandard, options: { mask?: Uint8Array } = {}): Float32Array {
  validatePercentiles(standard.percentiles);
  if (standard.landmarks.length !== standard.percentiles.length) throw new HarmonisationError('standard needs one landmark per percentile');
  const marks = imageLandmarks(image, standard.percentiles, options.mask);
  for (let i = 1; i < marks.length; i++) {
    if (!(marks[i]! > marks[i - 1]!)) {
      throw new HarmonisationError(`image landmarks at percentiles ${standard.percentiles[i - 1]} and ${standard.percentiles[i]} coincide; too few distinct intensities`);
    }
  }
  const target = standard.landmarks;
  const n = marks.length - 1;
  const out = Float32Array.from(image);
  for (let i = 0; i < image.length; i++) {
    if (options.mask && !options.mask[i]) continue;
    const v = image[i]!;
    if (v < marks[0]!) out[i] = target[0]! + ((v - marks[0]!) * (target[1]! - target[0]!)) / (marks[1]! - marks[0]!);
    else if (v > marks[n]!) out[i] = target[n]! + ((v - marks[n]!) * (target[n]! - target[n - 1]!)) / (marks[n]! - marks[n - 1]!);
    else out[i] = interpolate(v, marks, target);
  }
  return out;
}
