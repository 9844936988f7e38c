/**
 * A segmentation head's loss through the fused kernel (kernels/softmax-dice.ts), differentiable:
 * the kernel returns the gradient with the loss, and backprop scales it by the upstream gradient.
 * Only where the backend has the kernel: `hasFusedSoftmaxDice`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SOFTMAX_DICE_LOSS } from '../kernels/softmax-dice.js';

export function hasFusedSoftmaxDice(): boolean {
  return tf.getKernel(SOFTMAX_DICE_LOSS, tf.getBackend()) !== undefined;
}

/** `target` has the logits' shape; it gets no gradient (zeros). */
export function softmaxDiceLoss(logits: tf.Tensor, target: tf.Tensor, smooth: number): tf.Scalar {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [z, t, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [loss, gradient] = tf.engine().runKernel(SOFTMAX_DICE_LOSS, { logits: z, target: t }, { smooth }) as tf.Tensor[];
    save([gradient!]);
    return { value: loss!, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0]!), tf.zerosLike(t)] };
  });
  return op(logits, target) as tf.Scalar;
}
