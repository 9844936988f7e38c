/**
 * A U-Net is described by data: a spec (this file) plus named float32 weights. Presets are specs,
 * not code branches, so a site can be sent any stage count, width or input size.
 */

export const UNET_ARCHITECTURE = 'unet2d-instancenorm-leakyrelu' as const;

export interface UNetSpec {
  readonly architecture: typeof UNET_ARCHITECTURE;
  /** Resolution levels; stage 0 works at the input size, each later one at half the previous. */
  readonly stages: number;
  /** Features of stage 0; stage i has min(baseFeatures * 2^i, maxFeatures). */
  readonly baseFeatures: number;
  readonly maxFeatures: number;
  /** Square input slices, in pixels; divisible by 2^(stages-1). */
  readonly inputSize: number;
  readonly inChannels: number;
  /** Output classes including background (ours: background, blood pool, myocardium). */
  readonly classes: number;
}

export class ModelSpecError extends Error {
  override readonly name = 'ModelSpecError';
}

const base = { architecture: UNET_ARCHITECTURE, inChannels: 1, classes: 3 } as const;

/** The study's network (6 stages, 32→1024 features, 256²) and the CPU-sized one (5 stages, 16→256, 128²). */
export const PRESETS = {
  paper: { ...base, stages: 6, baseFeatures: 32, maxFeatures: 1024, inputSize: 256 },
  lite: { ...base, stages: 5, baseFeatures: 16, maxFeatures: 256, inputSize: 128 },
} as const satisfies Record<string, UNetSpec>;
export type PresetName = keyof typeof PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

/** A preset, optionally with some fields overridden; the result is validated. */
export function unetSpec(preset: PresetName, overrides: Partial<Omit<UNetSpec, 'architecture'>> = {}): UNetSpec {
  return validateSpec({ ...PRESETS[preset], ...overrides });
}

function positiveInteger(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ModelSpecError(`${field} must be an integer in 1..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks untrusted JSON (a received or loaded spec) and returns it as a spec with exactly its fields. */
export function validateSpec(input: unknown): UNetSpec {
  if (typeof input !== 'object' || input === null) throw new ModelSpecError('spec must be an object');
  const raw = input as Record<string, unknown>;
  if (raw['architecture'] !== UNET_ARCHITECTURE) {
    throw new ModelSpecError(`unsupported architecture ${JSON.stringify(raw['architecture'])}, expected ${UNET_ARCHITECTURE}`);
  }
  const stages = positiveInteger(raw['stages'], 'stages', 10);
  if (stages < 2) throw new ModelSpecError('stages must be at least 2 (one encoder and one decoder level)');
  const spec: UNetSpec = {
    architecture: UNET_ARCHITECTURE,
    stages,
    baseFeatures: positiveInteger(raw['baseFeatures'], 'baseFeatures', 4096),
    maxFeatures: positiveInteger(raw['maxFeatures'], 'maxFeatures', 8192),
    inputSize: positiveInteger(raw['inputSize'], 'inputSize', 4096),
    inChannels: positiveInteger(raw['inChannels'], 'inChannels', 64),
    classes: positiveInteger(raw['classes'], 'classes', 64),
  };
  if (spec.classes < 2) throw new ModelSpecError('classes must be at least 2 (background and one structure)');
  const divisor = 2 ** (stages - 1);
  if (spec.inputSize % divisor !== 0) {
    throw new ModelSpecError(`inputSize ${spec.inputSize} must be divisible by 2^(stages-1) = ${divisor}`);
  }
  return spec;
}

/** Feature count per stage, shallowest first. */
export function stageFeatures(spec: UNetSpec): number[] {
  return Array.from({ length: spec.stages }, (_, i) => Math.min(spec.baseFeatures * 2 ** i, spec.maxFeatures));
}

/**
 * Deep-supervision weight per decoder level (level 0 = full resolution): 1/2^level, the lowest
 * resolution level dropped (weight 0), normalised to sum 1. With a single level it keeps weight 1.
 */
export function deepSupervisionWeights(spec: UNetSpec): number[] {
  const levels = spec.stages - 1;
  const raw = Array.from({ length: levels }, (_, i) => (levels > 1 && i === levels - 1 ? 0 : 0.5 ** i));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / sum);
}
