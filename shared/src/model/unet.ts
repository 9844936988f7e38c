/**
 * The U-Net forward pass with tfjs-core ops only, so it runs on every backend (cpu, wasm, node,
 * node-gpu). Layout NHWC. Per stage: two (3x3 conv → instance norm → LeakyReLU); stride-2 conv
 * downsampling; 2x2 stride-2 transposed-conv upsampling, skip concatenation; 1x1 heads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkWeights, decoderBlockAtLevel, LEAKY_SLOPE, type NamedTensor } from './weights.js';
import { registerTrainingGradients } from './gradients.js';
import { stageFeatures, type UNetSpec } from './spec.js';
import { hasFusedInstanceNormAct, instanceNormAct } from '../engine/ops/instance-norm-act.js';

registerTrainingGradients();

/** Instance-norm epsilon of every conv block. */
export const NORM_EPSILON = 1e-5;

/**
 * Instance normalisation without the affine part: statistics per sample and channel over the
 * spatial axes. Its gradient is written out in closed form, which takes a handful of ops instead of
 * differentiating through the moments.
 */
const instanceNormalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  const { mean, variance } = tf.moments(x, [1, 2], true);
  const inverseStd = tf.rsqrt(tf.add(variance, NORM_EPSILON));
  const normalised = tf.mul(tf.sub(x, mean), inverseStd) as tf.Tensor4D;
  save([normalised, inverseStd]);
  return {
    value: normalised,
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [xHat, invStd] = saved as [tf.Tensor, tf.Tensor];
      const meanDy = tf.mean(dy, [1, 2], true);
      const meanDyXHat = tf.mean(tf.mul(dy, xHat), [1, 2], true);
      return tf.mul(invStd, tf.sub(tf.sub(dy, meanDy), tf.mul(xHat, meanDyXHat)));
    },
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;

export class ModelInputError extends Error {
  override readonly name = 'ModelInputError';
}

/** A spec with its weights held as tfjs variables on the current backend. Call dispose() when done. */
export class UNet {
  readonly spec: UNetSpec;
  private readonly variables = new Map<string, tf.Variable>();

  constructor(spec: UNetSpec, weights: readonly NamedTensor[]) {
    this.spec = spec;
    for (const { name, shape, data } of checkWeights(spec, weights)) {
      // Unnamed variables: tfjs names must be unique per engine, and several models may coexist.
      this.variables.set(name, tf.variable(tf.tensor(data, [...shape], 'float32')));
    }
  }

  /** Parameter names in canonical order. */
  get parameterNames(): string[] {
    return [...this.variables.keys()];
  }

  variable(name: string): tf.Variable {
    const v = this.variables.get(name);
    if (!v) throw new ModelInputError(`no parameter ${name}`);
    return v;
  }

  /**
   * Logits per requested decoder level (level 0 = full resolution, shape [n, size, size, classes];
   * level l has size / 2^l). Heads that are not requested are not computed.
   */
  forward(input: tf.Tensor4D, levels: readonly number[] = [0]): Map<number, tf.Tensor4D> {
    const { spec } = this;
    const [, height, width, channels] = input.shape;
    if (height !== spec.inputSize || width !== spec.inputSize || channels !== spec.inChannels) {
      throw new ModelInputError(
        `input is ${height}x${width}x${channels}, model expects ${spec.inputSize}x${spec.inputSize}x${spec.inChannels}`,
      );
    }
    for (const level of levels) {
      if (!Number.isInteger(level) || level < 0 || level > spec.stages - 2) {
        throw new ModelInputError(`decoder level ${level} outside 0..${spec.stages - 2}`);
      }
    }
    const features = stageFeatures(spec);
    const skips: tf.Tensor4D[] = [];
    let x: tf.Tensor4D = input;
    for (let stage = 0; stage < spec.stages; stage++) {
      x = this.convNormAct(x, `enc${stage}.conv1`, stage === 0 ? 1 : 2);
      x = this.convNormAct(x, `enc${stage}.conv2`, 1);
      skips.push(x);
    }
    const heads = new Map<number, tf.Tensor4D>();
    for (let level = spec.stages - 2; level >= 0; level--) {
      const block = `dec${decoderBlockAtLevel(spec, level)}`;
      const skip = skips[level]!;
      const [n, h, w] = skip.shape;
      const up = tf.add(
        tf.conv2dTranspose(x, this.variable(`${block}.up.weight`) as tf.Tensor4D, [n, h, w, features[level]!], 2, 'same'),
        this.variable(`${block}.up.bias`),
      ) as tf.Tensor4D;
      x = tf.concat([up, skip], 3);
      x = this.convNormAct(x, `${block}.conv1`, 1);
      x = this.convNormAct(x, `${block}.conv2`, 1);
      if (levels.includes(level)) {
        const logits = tf.conv2d(x, this.variable(`${block}.head.weight`) as tf.Tensor4D, 1, 'same');
        heads.set(level, tf.add(logits, this.variable(`${block}.head.bias`)));
      }
    }
    return heads;
  }

  private convNormAct(x: tf.Tensor4D, prefix: string, stride: 1 | 2): tf.Tensor4D {
    const y = tf.conv2d(x, this.variable(`${prefix}.weight`) as tf.Tensor4D, stride, 'same');
    const gamma = this.variable(`${prefix}.norm.gamma`);
    const beta = this.variable(`${prefix}.norm.beta`);
    if (hasFusedInstanceNormAct()) {
      // One kernel (with its own gradient) instead of ~ten element-wise ones; same maths.
      const { out, mean, invStd } = instanceNormAct(y, gamma, beta, { epsilon: NORM_EPSILON, alpha: LEAKY_SLOPE });
      tf.dispose([y, mean, invStd]);
      return out;
    }
    const normalised = instanceNormalise(y);
    const affine = tf.add(tf.mul(normalised, gamma), beta);
    return tf.leakyRelu(affine, LEAKY_SLOPE) as tf.Tensor4D;
  }

  /** Current weights copied out as plain arrays, canonical order. */
  async exportWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [];
    for (const [name, v] of this.variables) out.push({ name, shape: [...v.shape], data: (await v.data()) as Float32Array });
    return out;
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}
