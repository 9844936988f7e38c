/**
 * A CycleGAN for site harmonisation is described by data, like the U-Net: a spec plus named float32
 * weights. Two ResNet-style generators (site → reference and reference → site) and two PatchGAN
 * discriminators, sized to train on a CPU in minutes on small patches.
 */
import { SeededRandom } from '../model/random.js';
import { elementCount, type NamedTensor } from '../model/weights.js';
import { CycleGanError } from './errors.js';

export const CYCLEGAN_ARCHITECTURE = 'cyclegan2d-resnet-instancenorm' as const;

export interface CycleGanSpec {
  readonly architecture: typeof CYCLEGAN_ARCHITECTURE;
  /** Features of the generator's 7x7 stem; each downsampling doubles them. */
  readonly generatorFeatures: number;
  /** Stride-2 downsamplings in the generator (images must be divisible by 2^this). */
  readonly downsamplings: number;
  /** Residual blocks at the generator's lowest resolution. */
  readonly residualBlocks: number;
  /** Features of the discriminator's first layer; each further stride-2 layer doubles them. */
  readonly discriminatorFeatures: number;
  /** Stride-2 layers of the PatchGAN discriminator. */
  readonly discriminatorLayers: number;
  /** Side of the square training patches in pixels. */
  readonly patchSize: number;
}

/**
 * `paper`: Zhu et al.'s networks (64-feature ResNet generator with 9 residual blocks, 64-feature
 * 3-layer PatchGAN with 4x4 kernels, a 70x70 receptive field; 256x256 images); `site`: the
 * CPU-sized default; `tiny`: for tests and CI miniatures.
 */
export const CYCLEGAN_PRESETS = {
  paper: { architecture: CYCLEGAN_ARCHITECTURE, generatorFeatures: 64, downsamplings: 2, residualBlocks: 9, discriminatorFeatures: 64, discriminatorLayers: 3, patchSize: 256 },
  site: { architecture: CYCLEGAN_ARCHITECTURE, generatorFeatures: 8, downsamplings: 2, residualBlocks: 2, discriminatorFeatures: 8, discriminatorLayers: 3, patchSize: 64 },
  tiny: { architecture: CYCLEGAN_ARCHITECTURE, generatorFeatures: 4, downsamplings: 1, residualBlocks: 1, discriminatorFeatures: 4, discriminatorLayers: 2, patchSize: 16 },
} as const satisfies Record<string, CycleGanSpec>;
export type CycleGanPresetName = keyof typeof CYCLEGAN_PRESETS;

export function cycleGanPreset(name: string): CycleGanSpec {
  if (!Object.hasOwn(CYCLEGAN_PRESETS, name)) {
    throw new CycleGanError(`unknown CycleGAN preset '${name}' (expected one of: ${Object.keys(CYCLEGAN_PRESETS).join(', ')})`);
  }
  return CYCLEGAN_PRESETS[name as CycleGanPresetName];
}

function integerIn(raw: Record<string, unknown>, field: string, min: number, max: number): number {
  const value = raw[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CycleGanError(`${field} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks untrusted JSON (a config or a saved file) and returns a spec with exactly its fields. */
export function validateCycleGanSpec(input: unknown): CycleGanSpec {
  if (typeof input !== 'object' || input === null) throw new CycleGanError('CycleGAN spec must be an object');
  const raw = input as Record<string, unknown>;
  if (raw['architecture'] !== CYCLEGAN_ARCHITECTURE) {
    throw new CycleGanError(`unsupported architecture ${JSON.stringify(raw['architecture'])}, expected ${CYCLEGAN_ARCHITECTURE}`);
  }
  const spec: CycleGanSpec = {
    architecture: CYCLEGAN_ARCHITECTURE,
    generatorFeatures: integerIn(raw, 'generatorFeatures', 1, 256),
    downsamplings: integerIn(raw, 'downsamplings', 0, 4),
    residualBlocks: integerIn(raw, 'residualBlocks', 0, 16),
    discriminatorFeatures: integerIn(raw, 'discriminatorFeatures', 1, 256),
    discriminatorLayers: integerIn(raw, 'discriminatorLayers', 1, 5),
    patchSize: integerIn(raw, 'patchSize', 8, 512),
  };
  const divisor = 2 ** Math.max(spec.downsamplings, spec.discriminatorLayers);
  if (spec.patchSize % divisor !== 0) throw new CycleGanError(`patchSize ${spec.patchSize} must be divisible by ${divisor}`);
  return spec;
}

/** The two generators: site images to the reference look, and back. */
export const GENERATORS = ['toReference', 'toSite'] as const;
export type GeneratorName = (typeof GENERATORS)[number];
/** One discriminator per domain: real reference images vs translated ones, and likewise for the site. */
export const DISCRIMINATORS = ['reference', 'site'] as const;
export type DiscriminatorName = (typeof DISCRIMINATORS)[number];

interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: 'normal' | 'zeros' | 'ones';
}

function convNorm(prefix: string, k: number, cin: number, cout: number): ParameterSpec[] {
  // No conv bias before instance norm: the norm removes per-channel means.
  return [
    { name: `${prefix}.weight`, shape: [k, k, cin, cout], init: 'normal' },
    { name: `${prefix}.norm.gamma`, shape: [cout], init: 'ones' },
    { name: `${prefix}.norm.beta`, shape: [cout], init: 'zeros' },
  ];
}

/** Generator features at each resolution level, full resolution first. */
export function generatorLevelFeatures(spec: CycleGanSpec): number[] {
  return Array.from({ length: spec.downsamplings + 1 }, (_, i) => spec.generatorFeatures * 2 ** i);
}

/**
 * Generator parameters: 7x7 stem, stride-2 downsamplings, residual blocks, stride-2 transposed-conv
 * upsamplings and a 7x7 head. The head starts at zero and its output is added to the input, so an
 * untrained generator is the identity: a short CPU run can only adjust appearance, not invent anatomy.
 */
export function generatorLayout(spec: CycleGanSpec, name: GeneratorName): ParameterSpec[] {
  const p = `gen.${name}`;
  const features = generatorLevelFeatures(spec);
  const deepest = features[features.length - 1]!;
  const layout = convNorm(`${p}.stem`, 7, 1, features[0]!);
  for (let i = 0; i < spec.downsamplings; i++) layout.push(...convNorm(`${p}.down${i}`, 3, features[i]!, features[i + 1]!));
  for (let j = 0; j < spec.residualBlocks; j++) layout.push(...convNorm(`${p}.res${j}.conv1`, 3, deepest, deepest), ...convNorm(`${p}.res${j}.conv2`, 3, deepest, deepest));
  for (let i = spec.downsamplings - 1; i >= 0; i--) {
    // Transposed-conv filters are [h, w, out, in] in tfjs.
    layout.push(
      { name: `${p}.up${i}.weight`, shape: [3, 3, features[i]!, features[i + 1]!], init: 'normal' },
      { name: `${p}.up${i}.norm.gamma`, shape: [features[i]!], init: 'ones' },
      { name: `${p}.up${i}.norm.beta`, shape: [features[i]!], init: 'zeros' },
    );
  }
  layout.push({ name: `${p}.head.weight`, shape: [7, 7, features[0]!, 1], init: 'zeros' }, { name: `${p}.head.bias`, shape: [1], init: 'zeros' });
  return layout;
}

/** PatchGAN: 4x4 stride-2 convs (instance norm from the second on), then a 4x4 conv to one logit per patch. */
export function discriminatorLayout(spec: CycleGanSpec, name: DiscriminatorName): ParameterSpec[] {
  const p = `disc.${name}`;
  const layout: ParameterSpec[] = [
    { name: `${p}.layer0.weight`, shape: [4, 4, 1, spec.discriminatorFeatures], init: 'normal' },
    { name: `${p}.layer0.bias`, shape: [spec.discriminatorFeatures], init: 'zeros' },
  ];
  let features = spec.discriminatorFeatures;
  for (let i = 1; i < spec.discriminatorLayers; i++) {
    layout.push(...convNorm(`${p}.layer${i}`, 4, features, features * 2));
    features *= 2;
  }
  layout.push({ name: `${p}.out.weight`, shape: [4, 4, features, 1], init: 'normal' }, { name: `${p}.out.bias`, shape: [1], init: 'zeros' });
  return layout;
}

export function cycleGanLayout(spec: CycleGanSpec): ParameterSpec[] {
  return [...GENERATORS.flatMap((g) => generatorLayout(spec, g)), ...DISCRIMINATORS.flatMap((d) => discriminatorLayout(spec, d))];
}

/** CycleGAN's initialisation: N(0, 0.02) filters, unit norm scales, zero biases (and a zero generator head). Seeded. */
export function initialCycleGanWeights(spec: CycleGanSpec, seed: number): NamedTensor[] {
  const random = new SeededRandom(seed);
  return cycleGanLayout(spec).map(({ name, shape, init }) => {
    const data = new Float32Array(elementCount(shape));
    if (init === 'ones') data.fill(1);
    if (init === 'normal') for (let i = 0; i < data.length; i++) data[i] = random.normal() * 0.02;
    return { name, shape, data };
  });
}

/** Checks that `weights` holds every parameter of `layout` with its shape; extra tensors are ignored. */
export function pickWeights(layout: readonly ParameterSpec[], weights: readonly NamedTensor[]): NamedTensor[] {
  const byName = new Map(weights.map((w) => [w.name, w]));
  return layout.map(({ name, shape }) => {
    const tensor = byName.get(name);
    if (!tensor) throw new CycleGanError(`missing weight ${name}`);
    if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i]) || tensor.data.length !== elementCount(shape)) {
      throw new CycleGanError(`weight ${name} has shape [${tensor.shape}], expected [${shape}]`);
    }
    return tensor;
  });
}
