/**
 * The parameters of a U-Net as plain named float32 arrays: the form that is saved, hashed, sent and
 * aggregated. Names start with their block (`enc3.conv1.weight`, `dec0.up.bias`), which is the unit
 * of freezing.
 *
 * Blocks: `enc0..enc{S-1}` shallowest first; `dec0..dec{S-2}` in forward order, so `dec0` is the
 * deepest decoder block and `dec{S-2}` the one at full resolution. Each decoder block holds its
 * transposed-conv upsampling (`up`), its two conv/norm pairs and its 1x1 head.
 * Filter layouts are tfjs's: conv [h, w, in, out], transposed conv [h, w, out, in].
 */
import { SeededRandom } from './random.js';
import { stageFeatures, type UNetSpec } from './spec.js';

export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type Initialiser = 'he' | 'zeros' | 'ones';

export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Initialiser;
  /** Inputs feeding each output unit, for He initialisation. */
  readonly fanIn: number;
}

export class WeightsError extends Error {
  override readonly name = 'WeightsError';
}

/** LeakyReLU negative slope used throughout the network; He init accounts for it. */
export const LEAKY_SLOPE = 0.01;

/** Decoder block index (forward order) for the decoder that works at resolution `level`. */
export function decoderBlockAtLevel(spec: UNetSpec, level: number): number {
  return spec.stages - 2 - level;
}

/** The block a parameter belongs to: the part of its name before the first dot. */
export function blockOf(parameterName: string): string {
  const dot = parameterName.indexOf('.');
  return dot < 0 ? parameterName : parameterName.slice(0, dot);
}

function convWithNorm(prefix: string, cin: number, cout: number): ParameterSpec[] {
  // No conv bias: instance norm subtracts the per-channel mean, which would cancel it.
  return [
    { name: `${prefix}.weight`, shape: [3, 3, cin, cout], init: 'he', fanIn: 9 * cin },
    { name: `${prefix}.norm.gamma`, shape: [cout], init: 'ones', fanIn: 1 },
    { name: `${prefix}.norm.beta`, shape: [cout], init: 'zeros', fanIn: 1 },
  ];
}

/** Every parameter of the network in a fixed canonical order (forward order). */
export function parameterLayout(spec: UNetSpec): ParameterSpec[] {
  const features = stageFeatures(spec);
  const layout: ParameterSpec[] = [];
  for (let stage = 0; stage < spec.stages; stage++) {
    const cin = stage === 0 ? spec.inChannels : features[stage - 1]!;
    const cout = features[stage]!;
    layout.push(...convWithNorm(`enc${stage}.conv1`, cin, cout), ...convWithNorm(`enc${stage}.conv2`, cout, cout));
  }
  for (let block = 0; block < spec.stages - 1; block++) {
    const level = spec.stages - 2 - block;
    const below = features[level + 1]!;
    const f = features[level]!;
    layout.push(
      { name: `dec${block}.up.weight`, shape: [2, 2, f, below], init: 'he', fanIn: below },
      { name: `dec${block}.up.bias`, shape: [f], init: 'zeros', fanIn: 1 },
      ...convWithNorm(`dec${block}.conv1`, 2 * f, f),
      ...convWithNorm(`dec${block}.conv2`, f, f),
      { name: `dec${block}.head.weight`, shape: [1, 1, f, spec.classes], init: 'he', fanIn: f },
      { name: `dec${block}.head.bias`, shape: [spec.classes], init: 'zeros', fanIn: 1 },
    );
  }
  return layout;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function parameterCount(spec: UNetSpec): number {
  return parameterLayout(spec).reduce((sum, p) => sum + elementCount(p.shape), 0);
}

/** Fresh weights: He-normal (gain for LeakyReLU) for filters, zero biases, unit norm scales. Seeded. */
export function initialWeights(spec: UNetSpec, seed: number): NamedTensor[] {
  const random = new SeededRandom(seed);
  return parameterLayout(spec).map(({ name, shape, init, fanIn }) => {
    const data = new Float32Array(elementCount(shape));
    if (init === 'ones') data.fill(1);
    if (init === 'he') {
      const std = Math.sqrt(2 / ((1 + LEAKY_SLOPE ** 2) * fanIn));
      for (let i = 0; i < data.length; i++) data[i] = random.normal() * std;
    }
    return { name, shape, data };
  });
}

/** Checks that `weights` has exactly the spec's parameters and shapes; returns them in canonical order. */
export function checkWeights(spec: UNetSpec, weights: readonly NamedTensor[]): NamedTensor[] {
  const byName = new Map<string, NamedTensor>();
  for (const tensor of weights) {
    if (byName.has(tensor.name)) throw new WeightsError(`duplicate weight ${tensor.name}`);
    byName.set(tensor.name, tensor);
  }
  const layout = parameterLayout(spec);
  const ordered = layout.map(({ name, shape }) => {
    const tensor = byName.get(name);
    if (!tensor) throw new WeightsError(`missing weight ${name}`);
    if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
      throw new WeightsError(`weight ${name} has shape [${tensor.shape}], expected [${shape}]`);
    }
    if (tensor.data.length !== elementCount(shape)) {
      throw new WeightsError(`weight ${name} has ${tensor.data.length} values, expected ${elementCount(shape)}`);
    }
    return tensor;
  });
  if (byName.size !== layout.length) {
    const known = new Set(layout.map((p) => p.name));
    const extra = [...byName.keys()].filter((n) => !known.has(n));
    throw new WeightsError(`unexpected weights: ${extra.slice(0, 5).join(', ')}`);
  }
  return ordered;
}

/** Deep copy, so a caller's arrays are never aliased by a model or a worker transfer. */
export function cloneWeights(weights: readonly NamedTensor[]): NamedTensor[] {
  return weights.map(({ name, shape, data }) => ({ name, shape: [...shape], data: data.slice() }));
}
