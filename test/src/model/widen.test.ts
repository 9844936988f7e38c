import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initialWeights, ModelSpecError, SeededRandom, UNet, validateSpec, widenWeights, type NamedTensor } from '@lgefed/shared/model/index';
import { tinySpec, useWasm } from './tiny.js';

const wideSpec = validateSpec({ ...tinySpec, baseFeatures: 12, maxFeatures: 20 });

/** Trained-looking weights: random filters, and norm scales, shifts and biases away from their defaults. */
function trainedLooking(): NamedTensor[] {
  const random = new SeededRandom(11);
  return initialWeights(tinySpec, 5).map((t) => {
    if (t.name.endsWith('.weight')) return t;
    const data = t.data.map((v) => v + 0.3 * random.normal());
    return { ...t, data };
  });
}

function logits(spec: typeof tinySpec, weights: readonly NamedTensor[], input: tf.Tensor4D): Float32Array[] {
  const net = new UNet(spec, weights);
  try {
    const heads = net.forward(input, [0, 1]);
    const out = [0, 1].map((level) => heads.get(level)!.dataSync() as Float32Array);
    tf.dispose([...heads.values()]);
    return out;
  } finally {
    net.dispose();
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

describe('model: function-preserving widening', () => {
  before(useWasm);

  it('the widened network computes what the trained one did, at every supervised head', () => {
    const narrow = trainedLooking();
    const wide = widenWeights(tinySpec, narrow, wideSpec, 3);
    const random = new SeededRandom(2);
    const input = tf.tensor4d(Float32Array.from({ length: 2 * 16 * 16 }, () => random.normal()), [2, 16, 16, 1]);
    const before = logits(tinySpec, narrow, input);
    const after = logits(wideSpec, wide, input);
    input.dispose();
    for (const [level, values] of before.entries()) {
      const scale = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(scale > 0.1, 'the logits are not trivially zero');
      assert.ok(maxAbsDifference(values, after[level]!) < 1e-4 * Math.max(1, scale), `level ${level}: ${maxAbsDifference(values, after[level]!)}`);
    }
  });

  it('new channels are seeded and live: filters into them are random, filters out of them start at zero', () => {
    const wide = widenWeights(tinySpec, trainedLooking(), wideSpec, 3);
    const again = widenWeights(tinySpec, trainedLooking(), wideSpec, 3);
    const other = widenWeights(tinySpec, trainedLooking(), wideSpec, 4);
    assert.deepEqual(wide, again);
    assert.notDeepEqual(wide, other);
    // enc0.conv2 [3, 3, 12, 12]: old outputs 0..7 read new inputs 8..11 with zero weights; new outputs read everything.
    const conv = wide.find((t) => t.name === 'enc0.conv2.weight')!;
    const at = (ky: number, kx: number, input: number, output: number): number => conv.data[((ky * 3 + kx) * 12 + input) * 12 + output]!;
    assert.equal(at(1, 1, 9, 3), 0);
    assert.notEqual(at(1, 1, 9, 10), 0);
    assert.notEqual(at(1, 1, 2, 10), 0);
    // dec1.conv1 reads [up (12), skip (12)]: the old skip half (8..15 before) now sits at 12..19.
    const narrowConcat = trainedLooking().find((t) => t.name === 'dec1.conv1.weight')!;
    const wideConcat = wide.find((t) => t.name === 'dec1.conv1.weight')!;
    assert.equal(wideConcat.data[(4 * 24 + 12) * 12 + 5], narrowConcat.data[(4 * 16 + 8) * 8 + 5]);
    assert.equal(wideConcat.data[(4 * 24 + 9) * 12 + 5], 0);
  });

  it('refuses what is not a widening, with a typed error', () => {
    const narrow = trainedLooking();
    assert.throws(() => widenWeights(tinySpec, narrow, validateSpec({ ...tinySpec, stages: 4 }), 1), ModelSpecError);
    assert.throws(() => widenWeights(tinySpec, narrow, validateSpec({ ...tinySpec, baseFeatures: 4 }), 1), /shrink/);
    assert.throws(() => widenWeights(tinySpec, narrow, validateSpec({ ...tinySpec, classes: 4 }), 1), /classes/);
  });
});
