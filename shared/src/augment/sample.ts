import type { Slice } from '../types.js';
import { AugmentationError } from './errors.js';

/** A slice with its in-plane pixel spacing (mm, along x then y), which rescaling needs. */
export interface SpacedSlice extends Slice {
  readonly spacing: readonly [number, number];
}

/** Intensities the augmenter expects (and keeps): normalised to [0, 1]. */
export const INTENSITY_MIN = 0;
export const INTENSITY_MAX = 1;

/** Checks shape, spacing and intensity range, naming the first thing that is wrong. */
export function validateSample(sample: SpacedSlice, what = 'slice'): void {
  const { width, height, image, label, spacing } = sample;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new AugmentationError(`${what}: width and height must be positive integers, got ${width}x${height}`);
  }
  if (image.length !== width * height) {
    throw new AugmentationError(`${what}: image has ${image.length} pixels, expected ${width}x${height}`);
  }
  if (label.length !== width * height) {
    throw new AugmentationError(`${what}: label has ${label.length} pixels, expected ${width}x${height}`);
  }
  if (spacing.length !== 2 || !spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new AugmentationError(`${what}: spacing must be two positive millimetre values, got [${spacing.join(', ')}]`);
  }
  for (let i = 0; i < image.length; i++) {
    const v = image[i]!;
    if (!(v >= INTENSITY_MIN && v <= INTENSITY_MAX)) {
      throw new AugmentationError(
        `${what}: intensity ${v} at pixel ${i} is outside [${INTENSITY_MIN}, ${INTENSITY_MAX}]; normalise images first`,
      );
    }
  }
}
