/**
 * CycleGAN harmonisation on whole short-axis stacks. Both domains are seen the same way: each
 * volume robustly normalised to [0, 1] (the harmonisation module's percentile normalisation), each
 * slice resampled in-plane to the spacing the segmentation model works at, so the generator learns
 * appearance at one physical scale. At test time a volume goes the same way in, through the
 * site → reference generator, and is resampled back onto its own grid.
 */
import { normaliseIntensities } from '../harmonise/normalise.js';
import { resampleLinear } from '../imaging/resample.js';
import type { NamedTensor } from '../model/weights.js';
import type { Case, ImageVolume } from '../types.js';
import { CycleGanError } from './errors.js';
import type { GreyImage } from './patches.js';
import type { CycleGanSpec } from './spec.js';
import { translateImages } from './train.js';

function workingSize(image: ImageVolume, spacing: readonly [number, number]): [number, number] {
  const [w, h] = image.dims;
  return [Math.max(1, Math.round((w * image.spacing[0]) / spacing[0])), Math.max(1, Math.round((h * image.spacing[1]) / spacing[1]))];
}

function checkSpacing(spacing: readonly [number, number]): void {
  if (!(spacing.length === 2 && spacing.every((s) => Number.isFinite(s) && s > 0))) throw new CycleGanError(`spacing must be two positive millimetre values, got [${spacing.join(', ')}]`);
}

/** The slices of one volume as the generator sees them. */
export function volumeToCycleGanSlices(image: ImageVolume, spacing: readonly [number, number]): GreyImage[] {
  checkSpacing(spacing);
  const [w, h, depth] = image.dims;
  const [rw, rh] = workingSize(image, spacing);
  const normalised = normaliseIntensities(image.data);
  const plane = w * h;
  return Array.from({ length: depth }, (_, k) => {
    const slice = normalised.subarray(k * plane, (k + 1) * plane);
    const resampled = rw === w && rh === h ? slice.slice() : resampleLinear(slice, w, h, rw, rh);
    // Linear interpolation of values in [0, 1] stays in [0, 1] up to rounding.
    for (let i = 0; i < resampled.length; i++) resampled[i] = Math.min(1, Math.max(0, resampled[i]!));
    return { image: resampled, width: rw, height: rh };
  });
}

/** Every slice of every case, for training a CycleGAN between two cohorts. */
export function cycleGanTrainingSlices(cases: readonly Case[], spacing: readonly [number, number]): GreyImage[] {
  if (cases.length === 0) throw new CycleGanError('no cases to take CycleGAN training slices from');
  return cases.flatMap((c) => volumeToCycleGanSlices(c.image, spacing));
}

export interface CycleGanTransformOptions {
  /** In-plane spacing (mm) the generator was trained at. */
  readonly spacing: readonly [number, number];
  readonly backend?: string;
}

/**
 * An image transform (the shape the evaluation workflow's harmonisation hook takes) that maps a
 * site's volume to the reference appearance; the result keeps dims and spacing, values in [0, 1].
 */
export function cycleGanTransform(spec: CycleGanSpec, generator: readonly NamedTensor[], options: CycleGanTransformOptions): (image: ImageVolume) => Promise<ImageVolume> {
  checkSpacing(options.spacing);
  return async (image) => {
    const [w, h, depth] = image.dims;
    const slices = volumeToCycleGanSlices(image, options.spacing);
    const translated = await translateImages(spec, generator, slices, options.backend ? { backend: options.backend } : {});
    const data = new Float32Array(w * h * depth);
    translated.forEach((slice, k) => {
      const { width, height } = slices[k]!;
      data.set(width === w && height === h ? slice : resampleLinear(slice, width, height, w, h), k * w * h);
    });
    return { ...image, data };
  };
}
