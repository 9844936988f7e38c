import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { hasFusedSoftmaxDice, initEngine } from '@lgefed/shared/engine/index';
import { simdUnavailable } from '@lgefed/shared/engine/kernels/simd';
import { diceCrossEntropy, diceCrossEntropyOps } from '@lgefed/shared/model/loss';
import { registerTrainingGradients } from '@lgefed/shared/model/index';
import { relativeError, values } from './numeric.js';

/** One-hot targets; class `absent` (if any) never occurs, so its Dice rests on the smoothing term. */
function oneHot(shape: number[], seed: number, absent?: number): tf.Tensor4D {
  const classes = shape[3]!;
  const pixels = shape[0]! * shape[1]! * shape[2]!;
  const r = values(pixels, seed);
  const data = new Float32Array(pixels * classes);
  for (let i = 0; i < pixels; i++) {
    let label = Math.floor(((r[i]! + 1) / 2) * classes) % classes;
    if (label === absent) label = 0;
    data[i * classes + label] = 1;
  }
  return tf.tensor4d(data, shape as [number, number, number, number]);
}

async function lossAndGradient(loss: (z: tf.Tensor4D, t: tf.Tensor4D) => tf.Scalar, logits: tf.Tensor4D, target: tf.Tensor4D) {
  const { value, grads } = tf.valueAndGrads((z: tf.Tensor) => loss(z as tf.Tensor4D, target))([logits]);
  const result = { loss: (await value.data())[0]!, gradient: (await grads[0]!.data()) as Float32Array };
  tf.dispose([value, ...grads]);
  return result;
}

describe('engine: the fused softmax + cross-entropy + Dice loss on wasm equals the tfjs-op loss', function () {
  this.timeout(60_000);
  before(async function () {
    await initEngine({ backend: 'wasm', log: () => {} });
    registerTrainingGradients();
    if (simdUnavailable() !== undefined) this.skip();
  });

  it('is the loss the wasm backend uses', () => {
    assert.equal(hasFusedSoftmaxDice(), true);
  });

  const cases: { shape: [number, number, number, number]; absent?: number; scale: number }[] = [
    { shape: [2, 8, 8, 3], scale: 1 },
    { shape: [1, 5, 7, 2], scale: 4 },
    { shape: [3, 6, 6, 4], absent: 2, scale: 2 },
    { shape: [8, 16, 16, 3], absent: 1, scale: 8 },
  ];
  for (const [i, c] of cases.entries()) {
    it(`value and gradient: logits [${c.shape}] x${c.scale}${c.absent === undefined ? '' : `, class ${c.absent} absent`}`, async () => {
      const logits = tf.mul(tf.tensor4d(values(c.shape.reduce((a, b) => a * b), 40 + i), c.shape), c.scale) as tf.Tensor4D;
      const target = oneHot(c.shape, 50 + i, c.absent);
      const before = { tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() };
      const fused = await lossAndGradient(diceCrossEntropy, logits, target);
      assert.deepEqual({ tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() }, before, 'the fused loss leaked');
      const ops = await lossAndGradient(diceCrossEntropyOps, logits, target);
      assert.ok(Math.abs(fused.loss - ops.loss) < 1e-5 * Math.max(1, Math.abs(ops.loss)), `loss ${fused.loss} vs ${ops.loss}`);
      assert.ok(relativeError(fused.gradient, ops.gradient) < 1e-4, `gradient relative error ${relativeError(fused.gradient, ops.gradient)}`);
      tf.dispose([logits, target]);
    });
  }

  it('scales its gradient by the upstream gradient (a weighted sum of heads)', async () => {
    const shape: [number, number, number, number] = [2, 4, 4, 3];
    const logits = tf.tensor4d(values(96, 9), shape);
    const target = oneHot(shape, 10);
    const weighted = (loss: typeof diceCrossEntropy) => (z: tf.Tensor4D, t: tf.Tensor4D) => tf.mul(loss(z, t), 0.25) as tf.Scalar;
    const fused = await lossAndGradient(weighted(diceCrossEntropy), logits, target);
    const ops = await lossAndGradient(weighted(diceCrossEntropyOps), logits, target);
    assert.ok(relativeError(fused.gradient, ops.gradient) < 1e-4);
    tf.dispose([logits, target]);
  });

  it('refuses a target whose shape differs from the logits', () => {
    const logits = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const target = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    assert.throws(() => diceCrossEntropy(logits, target), /target is \[1,4,4,2\], logits \[1,4,4,3\]/);
    tf.dispose([logits, target]);
  });
});
