/**
 * Segmentation loss on every supervised head: cross-entropy + (1 − soft Dice), where Dice is batch
 * Dice over the foreground classes (smooth 1e-5), averaged over classes. Deep-supervision weights
 * come from the spec (1/2^level, lowest level dropped, normalised).
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasFusedSoftmaxDice, softmaxDiceLoss } from '../engine/ops/softmax-dice.js';
import { deepSupervisionWeights, type UNetSpec } from './spec.js';

const DICE_SMOOTH = 1e-5;

/**
 * Loss of one head; `target` is one-hot with the same shape as `logits`. One fused kernel where the
 * backend has it (wasm), `diceCrossEntropyOps` elsewhere.
 */
export function diceCrossEntropy(logits: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  return hasFusedSoftmaxDice() ? softmaxDiceLoss(logits, target, DICE_SMOOTH) : diceCrossEntropyOps(logits, target);
}

/** The same loss in tfjs ops (differentiable by tfjs autodiff on any backend). */
export function diceCrossEntropyOps(logits: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[3];
    const crossEntropy = tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 3)));
    const probability = tf.softmax(logits);
    const fgProbability = tf.slice(probability, [0, 0, 0, 1], [-1, -1, -1, classes - 1]);
    const fgTarget = tf.slice(target, [0, 0, 0, 1], [-1, -1, -1, classes - 1]);
    const intersection = tf.sum(tf.mul(fgProbability, fgTarget), [0, 1, 2]);
    const denominator = tf.add(tf.sum(fgProbability, [0, 1, 2]), tf.sum(fgTarget, [0, 1, 2]));
    const dice = tf.mean(tf.div(tf.add(tf.mul(intersection, 2), DICE_SMOOTH), tf.add(denominator, DICE_SMOOTH)));
    return tf.add(crossEntropy, tf.sub(1, dice)) as tf.Scalar;
  });
}

/** Decoder levels that carry a non-zero loss weight, with their weights. */
export function supervisedLevels(spec: UNetSpec): { level: number; weight: number }[] {
  return deepSupervisionWeights(spec)
    .map((weight, level) => ({ level, weight }))
    .filter(({ weight }) => weight > 0);
}

/**
 * One-hot targets for a decoder level, labels subsampled by nearest neighbour (every 2^level-th
 * pixel, as the reference implementation does). Labels are [n, size, size] row-major.
 */
export function oneHotAtLevel(labels: Uint8Array, batch: number, size: number, classes: number, level: number): tf.Tensor4D {
  const step = 2 ** level;
  const out = size / step;
  const data = new Float32Array(batch * out * out * classes);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < out; y++) {
      for (let x = 0; x < out; x++) {
        const label = labels[b * size * size + y * step * size + x * step]!;
        data[((b * out + y) * out + x) * classes + label] = 1;
      }
    }
  }
  return tf.tensor4d(data, [batch, out, out, classes]);
}
