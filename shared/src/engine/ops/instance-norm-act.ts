/**
 * Instance norm + affine + LeakyReLU as an op, forward and backward, on every backend: the fused
 * kernels where the backend has them (wasm, cpu), the same maths in tfjs ops elsewhere (tfjs-node).
 * Results are tensors in the caller's scope; the statistics are what the backward pass needs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { INSTANCE_NORM_ACT, INSTANCE_NORM_ACT_GRAD, type InstanceNormActAttrs } from '../kernels/instance-norm-act.js';
import { registerFusedKernels } from '../kernels/index.js';

registerFusedKernels();

export interface InstanceNormActResult {
  readonly out: tf.Tensor4D;
  /** [N,1,1,C] */
  readonly mean: tf.Tensor4D;
  /** 1/sqrt(variance + epsilon), [N,1,1,C] */
  readonly invStd: tf.Tensor4D;
}

export interface InstanceNormActGradients {
  readonly dx: tf.Tensor4D;
  /** Same shape as gamma. */
  readonly dGamma: tf.Tensor;
  readonly dBeta: tf.Tensor;
}

/** Whether the current backend runs the fused kernels (differentiable through tfjs autodiff too). */
export function hasFusedInstanceNormAct(): boolean {
  return tf.getKernel(INSTANCE_NORM_ACT, tf.getBackend()) !== undefined;
}

export function instanceNormAct(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, attrs: InstanceNormActAttrs): InstanceNormActResult {
  if (hasFusedInstanceNormAct()) {
    const [out, mean, invStd] = tf.engine().runKernel(INSTANCE_NORM_ACT, { x, gamma, beta }, { ...attrs }) as tf.Tensor4D[];
    return { out: out!, mean: mean!, invStd: invStd! };
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    const invStd = tf.rsqrt(tf.add(variance, attrs.epsilon));
    const affine = tf.add(tf.mul(tf.mul(tf.sub(x, mean), invStd), gamma), beta);
    return { out: tf.leakyRelu(affine, attrs.alpha) as tf.Tensor4D, mean: mean as tf.Tensor4D, invStd: invStd as tf.Tensor4D };
  });
}

/** Gradients of `instanceNormAct(x, gamma, beta).out` given the gradient `dy` of its output. */
export function instanceNormActGrad(
  dy: tf.Tensor4D,
  x: tf.Tensor4D,
  mean: tf.Tensor4D,
  invStd: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  attrs: InstanceNormActAttrs,
): InstanceNormActGradients {
  if (tf.getKernel(INSTANCE_NORM_ACT_GRAD, tf.getBackend()) !== undefined) {
    return tf.tidy(() => {
      const [dx, dGamma, dBeta] = tf.engine().runKernel(INSTANCE_NORM_ACT_GRAD, { dy, x, mean, invStd, gamma, beta }, { ...attrs }) as tf.Tensor[];
      return { dx: dx as tf.Tensor4D, dGamma: tf.reshape(dGamma!, gamma.shape), dBeta: tf.reshape(dBeta!, beta.shape) };
    });
  }
  return tf.tidy(() => {
    const xHat = tf.mul(tf.sub(x, mean), invStd);
    const affine = tf.add(tf.mul(xHat, gamma), beta);
    const g = tf.where(tf.greater(affine, 0), dy, tf.mul(dy, attrs.alpha));
    const gXHat = tf.mul(g, xHat);
    const dGamma = tf.reshape(tf.sum(gXHat, [0, 1, 2]), gamma.shape);
    const dBeta = tf.reshape(tf.sum(g, [0, 1, 2]), beta.shape);
    const centred = tf.sub(tf.sub(g, tf.mean(g, [1, 2], true)), tf.mul(xHat, tf.mean(gXHat, [1, 2], true)));
    return { dx: tf.mul(tf.mul(centred, invStd), tf.reshape(gamma, [1, 1, 1, -1])) as tf.Tensor4D, dGamma, dBeta };
  });
}
