/**
 * Function-preserving widening (Net2WiderNet, Chen et al. 2016, in its zero-outgoing-weight form):
 * trained weights of a U-Net placed into a wider one with the same stages, so that the wider network
 * computes exactly what the trained one did and training continues from there instead of from
 * scratch. Every old channel keeps its index (in decoder concatenations, its index within its half);
 * the weights from a new channel into an old one are zero, so old channels, heads and outputs are
 * unchanged; every other new weight is He-initialised, so the new channels differ from each other
 * and start learning at once (their outgoing weights get gradients from the first step).
 */
import { ModelSpecError, stageFeatures, type UNetSpec } from './spec.js';
import { checkWeights, elementCount, initialWeights, type NamedTensor } from './weights.js';

/** Where each old index of one axis lands in the wider axis. */
type AxisMap = (oldIndex: number) => number;

const same: AxisMap = (i) => i;

/** A decoder's concatenation [upsampled (f), skip (f)]: the second half moves to start at the new f. */
function concatenation(oldHalf: number, newHalf: number): AxisMap {
  return (i) => (i < oldHalf ? i : newHalf + (i - oldHalf));
}

/** Which axes of a parameter are its input and output channels, and how each maps. */
interface ChannelAxes {
  readonly inputAxis: number;
  readonly outputAxis: number;
  readonly input: AxisMap;
}

function channelAxes(name: string, narrow: UNetSpec, wide: UNetSpec): ChannelAxes | undefined {
  if (!name.endsWith('.weight')) return undefined; // norm scales, shifts and biases: one axis, outputs only
  const [block, part] = name.split('.') as [string, string];
  if (part === 'up') return { inputAxis: 3, outputAxis: 2, input: same }; // transposed conv [h, w, out, in]
  if (part === 'conv1' && block.startsWith('dec')) {
    const level = narrow.stages - 2 - Number(block.slice(3));
    return { inputAxis: 2, outputAxis: 3, input: concatenation(stageFeatures(narrow)[level]!, stageFeatures(wide)[level]!) };
  }
  return { inputAxis: 2, outputAxis: 3, input: same };
}

/** Checks that `wide` can hold `narrow`'s weights: same stages, inputs and classes, no stage narrower. */
function checkWidening(narrow: UNetSpec, wide: UNetSpec): void {
  for (const field of ['stages', 'inChannels', 'classes'] as const) {
    if (narrow[field] !== wide[field]) throw new ModelSpecError(`cannot widen: ${field} ${narrow[field]} → ${wide[field]} (only feature counts may grow)`);
  }
  const from = stageFeatures(narrow);
  const to = stageFeatures(wide);
  from.forEach((f, stage) => {
    if (to[stage]! < f) throw new ModelSpecError(`cannot widen: stage ${stage} would shrink from ${f} to ${to[stage]} features`);
  });
}

/**
 * The wide network's weights holding `weights` (trained for `narrow`): the same function, new
 * channels seeded by `seed`. Throws ModelSpecError when `wide` is not a widening of `narrow`.
 */
export function widenWeights(narrow: UNetSpec, weights: readonly NamedTensor[], wide: UNetSpec, seed: number): NamedTensor[] {
  checkWidening(narrow, wide);
  const old = new Map(checkWeights(narrow, weights).map((t) => [t.name, t]));
  return initialWeights(wide, seed).map((target) => {
    const source = old.get(target.name)!;
    const axes = channelAxes(target.name, narrow, wide);
    const data = target.data;
    if (axes) silenceNewInputs(data, target.shape, source.shape, axes);
    placeOld(data, target.shape, source, axes);
    return { name: target.name, shape: target.shape, data };
  });
}

/** Zeroes the weights from every new input channel into every old output channel. */
function silenceNewInputs(data: Float32Array, shape: readonly number[], oldShape: readonly number[], axes: ChannelAxes): void {
  const oldInputs = new Set(Array.from({ length: oldShape[axes.inputAxis]! }, (_, i) => axes.input(i)));
  const oldOutputs = oldShape[axes.outputAxis]!;
  const strides = stridesOf(shape);
  for (let flat = 0; flat < data.length; flat++) {
    const input = Math.floor(flat / strides[axes.inputAxis]!) % shape[axes.inputAxis]!;
    const output = Math.floor(flat / strides[axes.outputAxis]!) % shape[axes.outputAxis]!;
    if (output < oldOutputs && !oldInputs.has(input)) data[flat] = 0;
  }
}

/** Copies every old value to its place in the wider tensor. */
function placeOld(data: Float32Array, shape: readonly number[], source: NamedTensor, axes: ChannelAxes | undefined): void {
  const oldStrides = stridesOf(source.shape);
  const strides = stridesOf(shape);
  for (let flat = 0; flat < elementCount(source.shape); flat++) {
    let target = 0;
    for (let axis = 0; axis < shape.length; axis++) {
      const index = Math.floor(flat / oldStrides[axis]!) % source.shape[axis]!;
      target += (axes && axis === axes.inputAxis ? axes.input(index) : index) * strides[axis]!;
    }
    data[target] = source.data[flat]!;
  }
}

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis]!;
  }
  return strides;
}
