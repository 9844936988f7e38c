import { AugmentationError } from './errors.js';

/** A closed interval [low, high] a parameter is drawn from, uniformly. */
export type Range = readonly [number, number];

/**
 * One augmentation operator as data: its kind, the probability p that it fires on a sample, and the
 * ranges its parameters are drawn from. Spatial operators move image and label together; intensity
 * operators change the image only, on intensities normalised to [0, 1].
 */
export type OperatorSpec =
  | { readonly kind: 'flip'; readonly p: number; readonly axis: 'horizontal' | 'vertical' }
  | { readonly kind: 'rotate'; readonly p: number; readonly degrees: Range }
  /** Resample to a random in-plane pixel spacing (mm), as if acquired at another resolution. */
  | { readonly kind: 'rescale'; readonly p: number; readonly spacingMm: Range }
  /** Resample by a random zoom factor (> 1 enlarges), nnU-Net's "scaling". */
  | { readonly kind: 'zoom'; readonly p: number; readonly factor: Range }
  | { readonly kind: 'bilateral'; readonly p: number; readonly sigmaSpatialPx: Range; readonly sigmaIntensity: Range }
  | { readonly kind: 'gaussianBlur'; readonly p: number; readonly sigmaPx: Range }
  | { readonly kind: 'gaussianNoise'; readonly p: number; readonly sigma: Range }
  /** x^gamma; `inverted` applies it to 1 - x (brightens dark regions the other way). */
  | { readonly kind: 'gamma'; readonly p: number; readonly gamma: Range; readonly inverted: boolean }
  /** Additive shift of every intensity. */
  | { readonly kind: 'brightness'; readonly p: number; readonly shift: Range }
  /** Multiplicative brightness, nnU-Net style. */
  | { readonly kind: 'brightnessScale'; readonly p: number; readonly factor: Range }
  /** Stretch about the slice mean by a factor 1 + change. */
  | { readonly kind: 'contrast'; readonly p: number; readonly change: Range }
  /** Downsample (nearest) by a random zoom < 1 and back (bilinear). */
  | { readonly kind: 'lowResolution'; readonly p: number; readonly zoom: Range };

export type OperatorKind = OperatorSpec['kind'];

export const SPATIAL_KINDS: ReadonlySet<OperatorKind> = new Set(['flip', 'rotate', 'rescale', 'zoom']);

export function isSpatial(op: OperatorSpec): boolean {
  return SPATIAL_KINDS.has(op.kind);
}

/** Bounds each range parameter must respect, so a typo'd preset fails loudly instead of wrecking training. */
const RANGE_BOUNDS: Record<string, Range> = {
  degrees: [-180, 180],
  spacingMm: [0.05, 20],
  factor: [0.05, 20],
  sigmaSpatialPx: [0.1, 10],
  sigmaIntensity: [0.001, 10],
  sigmaPx: [0.1, 10],
  sigma: [0, 1],
  gamma: [0.05, 20],
  shift: [-1, 1],
  change: [-0.99, 10],
  zoom: [0.05, 1],
};

export function validateOperator(op: OperatorSpec): void {
  const where = `augmentation operator '${op.kind}'`;
  if (!(op.p >= 0 && op.p <= 1)) throw new AugmentationError(`${where}: p must be in [0, 1], got ${op.p}`);
  for (const [key, value] of Object.entries(op)) {
    const bounds = RANGE_BOUNDS[key];
    if (!bounds) continue;
    const range = value as Range;
    if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite)) {
      throw new AugmentationError(`${where}: ${key} must be a [low, high] pair of numbers`);
    }
    const [low, high] = range;
    if (low > high) throw new AugmentationError(`${where}: ${key} low ${low} exceeds high ${high}`);
    if (low < bounds[0] || high > bounds[1]) {
      throw new AugmentationError(`${where}: ${key} [${low}, ${high}] outside [${bounds[0]}, ${bounds[1]}]`);
    }
  }
}
