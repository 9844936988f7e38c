import { AugmentationError } from './errors.js';
import { bilateralFilter, gaussianBlur, simulateLowResolution } from './filters.js';
import { addGaussianNoise, adjustContrast, applyGamma, scaleBrightness, shiftBrightness } from './intensity.js';
import { isSpatial, type OperatorSpec, type Range } from './operators.js';
import { presetByName, validatePreset, type AugmentationPreset } from './presets.js';
import { Prng } from './prng.js';
import { INTENSITY_MAX, INTENSITY_MIN, validateSample, type SpacedSlice } from './sample.js';
import { cropSlack, identityParameters, resample, spatialMap, type SpatialParameters } from './spatial.js';

export interface AugmenterOptions {
  /** Every draw derives from this seed: same seed, same samples in, same samples out. */
  readonly seed: number;
  /** Network input size; every output slice has it. */
  readonly outputWidth: number;
  readonly outputHeight: number;
  /**
   * Share of windows placed on a random foreground pixel instead of anywhere in the slice
   * (default 1/3, nnU-Net's oversample_foreground_percent): whole slices are mostly background.
   */
  readonly foregroundFraction?: number;
}

/**
 * Where the output window lies in the (transformed) slice: its centre, anywhere it fits, or around a
 * random foreground pixel (anywhere when there is none).
 */
export type WindowPlacement = 'centre' | 'random' | 'foreground';

/** nnU-Net's share of foreground-forced patches. */
export const DEFAULT_FOREGROUND_FRACTION = 1 / 3;

/** An augmented slice at the network input size, with the pixel spacing it now has. */
export interface AugmentedSlice extends SpacedSlice {
  /** Kinds of the operators that fired, in order, for logs and galleries. */
  readonly applied: readonly string[];
}

/**
 * Applies a preset to slices: spatial operators (image bilinear, label nearest, one resampling),
 * a window of the output size (on the foreground with `foregroundFraction`, else anywhere), then
 * intensity operators on the image.
 */
export class Augmenter {
  readonly preset: AugmentationPreset;
  private readonly prng: Prng;

  constructor(
    preset: AugmentationPreset | string,
    readonly options: AugmenterOptions,
  ) {
    this.preset = typeof preset === 'string' ? presetByName(preset) : preset;
    validatePreset(this.preset);
    const { outputWidth, outputHeight } = options;
    if (!Number.isInteger(outputWidth) || !Number.isInteger(outputHeight) || outputWidth < 1 || outputHeight < 1) {
      throw new AugmentationError(`output size must be positive integers, got ${outputWidth}x${outputHeight}`);
    }
    const fraction = options.foregroundFraction ?? DEFAULT_FOREGROUND_FRACTION;
    if (!(fraction >= 0 && fraction <= 1)) throw new AugmentationError(`foregroundFraction must be in [0, 1], got ${fraction}`);
    this.foregroundFraction = fraction;
    this.prng = new Prng(options.seed);
  }

  private readonly foregroundFraction: number;

  /** Augments one slice, drawing which operators fire (each with its p) and their parameters. */
  augment(sample: SpacedSlice): AugmentedSlice {
    const firing = this.preset.operators.filter((op) => this.prng.chance(op.p));
    const placement: WindowPlacement = this.prng.chance(this.foregroundFraction) ? 'foreground' : 'random';
    return applyOperators(sample, firing, placement, this.options, this.prng);
  }
}

/**
 * Applies the given operators unconditionally (their p is not consulted), drawing parameters from
 * `prng`. The gallery uses it to show one operator at a time.
 */
export function applyOperators(
  sample: SpacedSlice,
  operators: readonly OperatorSpec[],
  placement: WindowPlacement,
  size: { readonly outputWidth: number; readonly outputHeight: number },
  prng: Prng,
): AugmentedSlice {
  validateSample(sample);
  const { outputWidth, outputHeight } = size;
  const params = identityParameters(sample);
  for (const op of operators) if (isSpatial(op)) drawSpatial(op, params, prng);
  if (placement !== 'centre') {
    const slack = cropSlack(sample, params, outputWidth, outputHeight);
    const onForeground = placement === 'foreground' ? foregroundShift(sample, params, size, slack, prng) : undefined;
    // Whole output pixels: a crop alone then copies pixels instead of interpolating them.
    params.cropShift = onForeground ?? [Math.round(prng.uniform(-slack[0], slack[0])), Math.round(prng.uniform(-slack[1], slack[1]))];
  }
  const map = spatialMap(sample, params, outputWidth, outputHeight);
  const resampled = resample(sample, map, outputWidth, outputHeight);
  let image = resampled.image;
  for (const op of operators) if (!isSpatial(op)) image = applyIntensity(op, image, outputWidth, outputHeight, prng);
  return {
    image,
    label: resampled.label,
    width: outputWidth,
    height: outputHeight,
    spacing: params.outputSpacing,
    applied: operators.map((op) => op.kind),
  };
}

/**
 * Window shift that puts a random foreground pixel within the middle half of the window (jittered,
 * so the heart is not always centred), kept inside the slice where the slice is larger than the
 * window; undefined when the slice has no foreground.
 */
function foregroundShift(
  sample: SpacedSlice,
  params: SpatialParameters,
  size: { readonly outputWidth: number; readonly outputHeight: number },
  slack: readonly [number, number],
  prng: Prng,
): [number, number] | undefined {
  const { label, width, height } = sample;
  let count = 0;
  for (let i = 0; i < label.length; i++) if (label[i] !== 0) count++;
  if (count === 0) return undefined;
  let pick = Math.min(count - 1, Math.floor(prng.uniform(0, count)));
  let index = 0;
  for (; index < label.length; index++) if (label[index] !== 0 && pick-- === 0) break;
  // input = centre + M (window pixel + shift - window centre), so shift = M⁻¹ (pixel - centre) - jitter.
  const [a, b, c, d] = spatialMap(sample, params, size.outputWidth, size.outputHeight).matrix;
  const px = (index % width) - (width - 1) / 2;
  const py = Math.floor(index / width) - (height - 1) / 2;
  const det = a * d - b * c;
  const jitterX = prng.uniform(-size.outputWidth / 4, size.outputWidth / 4);
  const jitterY = prng.uniform(-size.outputHeight / 4, size.outputHeight / 4);
  const shiftX = (d * px - b * py) / det - jitterX;
  const shiftY = (-c * px + a * py) / det - jitterY;
  const clamp = (v: number, limit: number): number => Math.round(Math.min(limit, Math.max(-limit, v)));
  return [clamp(shiftX, slack[0]), clamp(shiftY, slack[1])];
}

function draw(prng: Prng, range: Range): number {
  return prng.uniform(range[0], range[1]);
}

function drawSpatial(op: OperatorSpec, params: SpatialParameters, prng: Prng): void {
  switch (op.kind) {
    case 'flip':
      if (op.axis === 'horizontal') params.flipHorizontal = !params.flipHorizontal;
      else params.flipVertical = !params.flipVertical;
      return;
    case 'rotate':
      params.rotationDegrees += draw(prng, op.degrees);
      return;
    case 'rescale': {
      const spacing = draw(prng, op.spacingMm);
      params.outputSpacing = [spacing, spacing];
      return;
    }
    case 'zoom': {
      const factor = draw(prng, op.factor);
      params.outputSpacing = [params.outputSpacing[0] / factor, params.outputSpacing[1] / factor];
      return;
    }
    default:
      throw new AugmentationError(`'${op.kind}' is not a spatial operator`);
  }
}

function applyIntensity(op: OperatorSpec, image: Float32Array, width: number, height: number, prng: Prng): Float32Array {
  switch (op.kind) {
    case 'bilateral':
      return clipped(bilateralFilter(image, width, height, draw(prng, op.sigmaSpatialPx), draw(prng, op.sigmaIntensity)));
    case 'gaussianBlur':
      return clipped(gaussianBlur(image, width, height, draw(prng, op.sigmaPx)));
    case 'lowResolution':
      return clipped(simulateLowResolution(image, width, height, draw(prng, op.zoom)));
    case 'gaussianNoise':
      addGaussianNoise(image, draw(prng, op.sigma), prng);
      return image;
    case 'gamma':
      applyGamma(image, draw(prng, op.gamma), op.inverted);
      return image;
    case 'brightness':
      shiftBrightness(image, draw(prng, op.shift));
      return image;
    case 'brightnessScale':
      scaleBrightness(image, draw(prng, op.factor));
      return image;
    case 'contrast':
      adjustContrast(image, draw(prng, op.change));
      return image;
    default:
      throw new AugmentationError(`'${op.kind}' is not an intensity operator`);
  }
}

/** Float rounding in the filters' weight sums can overshoot [0, 1] by an ulp. */
function clipped(image: Float32Array): Float32Array {
  for (let i = 0; i < image.length; i++) {
    const v = image[i]!;
    if (v < INTENSITY_MIN) image[i] = INTENSITY_MIN;
    else if (v > INTENSITY_MAX) image[i] = INTENSITY_MAX;
  }
  return image;
}
