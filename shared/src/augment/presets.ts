import { AugmentationError } from './errors.js';
import { validateOperator, type OperatorSpec } from './operators.js';

/**
 * A named augmentation pipeline: operators applied in order (all spatial ones are composed into
 * a single resampling). Where the network window lies in the slice is the augmenter's sampling,
 * the same for every preset.
 */
export interface AugmentationPreset {
  readonly name: string;
  readonly operators: readonly OperatorSpec[];
}

/** The study's probability for every operator. */
const STUDY_P = 0.2;

const studySpatial: readonly OperatorSpec[] = [
  { kind: 'flip', p: STUDY_P, axis: 'horizontal' },
  { kind: 'flip', p: STUDY_P, axis: 'vertical' },
  { kind: 'rotate', p: STUDY_P, degrees: [-30, 30] },
  { kind: 'rescale', p: STUDY_P, spacingMm: [0.75, 1.88] },
];

const studyIntensity: readonly OperatorSpec[] = [
  { kind: 'bilateral', p: STUDY_P, sigmaSpatialPx: [0.5, 1.5], sigmaIntensity: [0.05, 0.15] },
  { kind: 'gaussianNoise', p: STUDY_P, sigma: [0, 0.03] },
  { kind: 'gamma', p: STUDY_P, gamma: [0.7, 1.5], inverted: false },
  { kind: 'gamma', p: STUDY_P, gamma: [0.7, 1.5], inverted: true },
  { kind: 'brightness', p: STUDY_P, shift: [-0.5, 0.5] },
  { kind: 'contrast', p: STUDY_P, change: [-0.5, 0.5] },
];

/**
 * nnU-Net v2's default 2D augmentation (batchgenerators defaults), translated to [0, 1] intensities:
 * its noise variance 0-0.1 is on z-scored images (sd 1); LGE slices scaled to [0, 1] have an sd near
 * 0.15, hence sigma up to sqrt(0.1) * 0.15 ≈ 0.05.
 */
const nnunet: readonly OperatorSpec[] = [
  { kind: 'rotate', p: 0.2, degrees: [-180, 180] },
  { kind: 'zoom', p: 0.2, factor: [0.7, 1.4] },
  { kind: 'gaussianNoise', p: 0.1, sigma: [0, 0.05] },
  { kind: 'gaussianBlur', p: 0.2, sigmaPx: [0.5, 1] },
  { kind: 'brightnessScale', p: 0.15, factor: [0.75, 1.25] },
  { kind: 'contrast', p: 0.15, change: [-0.25, 0.25] },
  { kind: 'lowResolution', p: 0.25, zoom: [0.5, 1] },
  { kind: 'gamma', p: 0.1, gamma: [0.7, 1.5], inverted: true },
  { kind: 'gamma', p: 0.3, gamma: [0.7, 1.5], inverted: false },
  { kind: 'flip', p: 0.5, axis: 'horizontal' },
  { kind: 'flip', p: 0.5, axis: 'vertical' },
];

export const PRESETS = {
  none: { name: 'none', operators: [] },
  spatial: { name: 'spatial', operators: studySpatial },
  paper: { name: 'paper', operators: [...studySpatial, ...studyIntensity] },
  nnunet: { name: 'nnunet', operators: nnunet },
} as const satisfies Record<string, AugmentationPreset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** Looks a preset up by name (e.g. from a CLI flag), failing with the list of valid names. */
export function presetByName(name: string): AugmentationPreset {
  if (!Object.hasOwn(PRESETS, name)) {
    throw new AugmentationError(`unknown augmentation preset '${name}' (expected one of: ${PRESET_NAMES.join(', ')})`);
  }
  return PRESETS[name as PresetName];
}

export function validatePreset(preset: AugmentationPreset): void {
  for (const op of preset.operators) validateOperator(op);
}
