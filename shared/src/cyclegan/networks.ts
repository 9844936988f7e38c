/**
 * Forward passes of the CycleGAN's generators and discriminators with tfjs-core ops (NHWC, one
 * channel, intensities in [0, 1]), so they run on every backend the engine selects.
 */
import * as tf from '@tensorflow/tfjs-core';
import { instanceNormAct } from '../engine/ops/instance-norm-act.js';
import type { NamedTensor } from '../model/weights.js';
import { CycleGanError } from './errors.js';
import { registerCycleGanGradients } from './gradients.js';
import { cycleGanLayout, pickWeights, type CycleGanSpec, type DiscriminatorName, type GeneratorName } from './spec.js';

registerCycleGanGradients();

/** CycleGAN's LeakyReLU slope. */
const SLOPE = 0.2;
const NORM_EPSILON = 1e-5;

/**
 * Instance normalisation with a learnt per-channel scale and shift, then LeakyReLU with `slope`
 * (1: none), as one fused kernel where the engine has it: composed of tfjs ops, the statistics'
 * intermediates of every layer stayed alive for the gradient and took the 4 GB wasm heap at 112²
 * patches of the paper's networks.
 */
function instanceNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, slope: number): tf.Tensor4D {
  return instanceNormAct(x, gamma, beta, { epsilon: NORM_EPSILON, alpha: slope }).out;
}

/** Weights of some or all of the four networks, held as tfjs variables. Call dispose() when done. */
export class CycleGanNetworks {
  private readonly variables = new Map<string, tf.Variable>();

  /** `weights` may hold only the networks that will be used (e.g. one generator for inference). */
  constructor(
    readonly spec: CycleGanSpec,
    weights: readonly NamedTensor[],
  ) {
    const known = new Set(cycleGanLayout(spec).map((p) => p.name));
    for (const tensor of weights) {
      if (!known.has(tensor.name)) throw new CycleGanError(`unexpected weight ${tensor.name}`);
      this.variables.set(tensor.name, tf.variable(tf.tensor(tensor.data, [...tensor.shape], 'float32')));
    }
  }

  /** The variables whose names start with `prefix` (e.g. `gen.` or `disc.reference.`). */
  variablesUnder(prefix: string): tf.Variable[] {
    return [...this.variables].filter(([name]) => name.startsWith(prefix)).map(([, v]) => v);
  }

  private v(name: string): tf.Tensor {
    const variable = this.variables.get(name);
    if (!variable) throw new CycleGanError(`no weight ${name} loaded`);
    return variable;
  }

  private convNormAct(x: tf.Tensor4D, prefix: string, stride: 1 | 2): tf.Tensor4D {
    const y = tf.conv2d(x, this.v(`${prefix}.weight`) as tf.Tensor4D, stride, 'same');
    return instanceNorm(y, this.v(`${prefix}.norm.gamma`), this.v(`${prefix}.norm.beta`), SLOPE);
  }

  /** Translates images [n, h, w, 1]; h and w must be divisible by 2^downsamplings. Output = input + tanh(residual). */
  generate(name: GeneratorName, images: tf.Tensor4D): tf.Tensor4D {
    const { spec } = this;
    const [n, h, w, c] = images.shape;
    const divisor = 2 ** spec.downsamplings;
    if (c !== 1 || h % divisor !== 0 || w % divisor !== 0) {
      throw new CycleGanError(`generator input is ${h}x${w}x${c}; needs one channel and sides divisible by ${divisor}`);
    }
    const p = `gen.${name}`;
    let x = this.convNormAct(images, `${p}.stem`, 1);
    const shapes: [number, number, number, number][] = [];
    for (let i = 0; i < spec.downsamplings; i++) {
      shapes.push([n, x.shape[1], x.shape[2], x.shape[3]]);
      x = this.convNormAct(x, `${p}.down${i}`, 2);
    }
    for (let j = 0; j < spec.residualBlocks; j++) {
      const inner = this.convNormAct(x, `${p}.res${j}.conv1`, 1);
      const y = tf.conv2d(inner, this.v(`${p}.res${j}.conv2.weight`) as tf.Tensor4D, 1, 'same');
      x = tf.add(x, instanceNorm(y, this.v(`${p}.res${j}.conv2.norm.gamma`), this.v(`${p}.res${j}.conv2.norm.beta`), 1));
    }
    for (let i = spec.downsamplings - 1; i >= 0; i--) {
      const up = tf.conv2dTranspose(x, this.v(`${p}.up${i}.weight`) as tf.Tensor4D, shapes[i]!, 2, 'same');
      x = instanceNorm(up, this.v(`${p}.up${i}.norm.gamma`), this.v(`${p}.up${i}.norm.beta`), SLOPE);
    }
    const residual = tf.add(tf.conv2d(x, this.v(`${p}.head.weight`) as tf.Tensor4D, 1, 'same'), this.v(`${p}.head.bias`));
    return tf.add(images, tf.tanh(residual));
  }

  /** One real/fake logit per receptive-field patch: [n, h / 2^layers, w / 2^layers, 1]. */
  discriminate(name: DiscriminatorName, images: tf.Tensor4D): tf.Tensor4D {
    const p = `disc.${name}`;
    let x = tf.leakyRelu(tf.add(tf.conv2d(images, this.v(`${p}.layer0.weight`) as tf.Tensor4D, 2, 'same'), this.v(`${p}.layer0.bias`)), SLOPE);
    for (let i = 1; i < this.spec.discriminatorLayers; i++) x = this.convNormAct(x as tf.Tensor4D, `${p}.layer${i}`, 2);
    return tf.add(tf.conv2d(x as tf.Tensor4D, this.v(`${p}.out.weight`) as tf.Tensor4D, 1, 'same'), this.v(`${p}.out.bias`));
  }

  /** Current weights copied out, in the spec's canonical order (only the loaded networks). */
  async exportWeights(): Promise<NamedTensor[]> {
    const layout = cycleGanLayout(this.spec).filter((p) => this.variables.has(p.name));
    const out: NamedTensor[] = [];
    for (const { name, shape } of layout) out.push({ name, shape: [...shape], data: (await this.v(name).data()) as Float32Array });
    return pickWeights(layout, out);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}
