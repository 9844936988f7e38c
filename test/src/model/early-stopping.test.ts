import assert from 'node:assert/strict';
import {
  EarlyStoppingError,
  EarlyStoppingMonitor,
  initialWeights,
  trainModel,
  type Batch,
  type TrainingProgress,
} from '@lgefed/shared/model/index';
import { engineOptions, ringSlice, tinySpec } from './tiny.js';

function batchOf(images: Float32Array, labels: Uint8Array): Batch {
  return { images, labels, count: 1, size: tinySpec.inputSize };
}

describe('model: early stopping on held-out slices', () => {
  it('stops after `patience` checks without a new best and remembers the best', () => {
    const monitor = new EarlyStoppingMonitor(2);
    assert.deepEqual(monitor.record(0, 1.0), { improved: true, stop: false });
    assert.deepEqual(monitor.record(10, 0.8), { improved: true, stop: false });
    assert.deepEqual(monitor.record(20, 0.9), { improved: false, stop: false });
    assert.deepEqual(monitor.record(30, 0.7), { improved: true, stop: false });
    assert.deepEqual(monitor.record(40, Number.NaN), { improved: false, stop: false });
    assert.deepEqual(monitor.record(50, 0.7), { improved: false, stop: true }, 'equal is not better');
    const outcome = monitor.outcome(true);
    assert.equal(outcome.bestIteration, 30);
    assert.equal(outcome.checks.length, 6);
  });

  it('returns the starting weights when training only makes the held-out slices worse', async () => {
    const ring = ringSlice();
    // Held out: the same ring labelled the other way round, so learning the training ring hurts it.
    const swapped = ring.label.map((l) => (l === 1 ? 2 : l === 2 ? 1 : 0));
    const start = initialWeights(tinySpec, 4);
    const progress: TrainingProgress[] = [];
    const result = await trainModel({
      ...engineOptions,
      spec: tinySpec,
      initialWeights: start,
      data: [ring],
      batchSize: 1,
      iterations: 40,
      learningRate: 1e-2,
      earlyStopping: { heldOut: batchOf(ring.image, swapped), every: 2, patience: 3 },
      onProgress: (p) => progress.push(p),
    });
    const outcome = result.earlyStopping!;
    assert.equal(outcome.stoppedEarly, true);
    assert.equal(outcome.bestIteration, 0);
    assert.equal(result.iterations, 6, 'three checks two iterations apart, none better than the start');
    assert.deepEqual(outcome.checks.map((c) => c.iteration), [0, 2, 4, 6]);
    for (const [i, tensor] of result.weights.entries()) assert.deepEqual(tensor.data, start[i]!.data, `${tensor.name} should be the starting weights`);
    assert.deepEqual(progress.filter((p) => p.heldOutLoss !== undefined).map((p) => p.iteration), [2, 4, 6]);
  });

  it('keeps training while the held-out loss improves and returns the best checked weights', async () => {
    const ring = ringSlice();
    const result = await trainModel({
      ...engineOptions,
      spec: tinySpec,
      data: [ring, ringSlice(16, [7, 8])],
      batchSize: 2,
      iterations: 12,
      seed: 2,
      learningRate: 1e-2,
      earlyStopping: { heldOut: batchOf(ring.image, ring.label), every: 3, patience: 5 },
    });
    const outcome = result.earlyStopping!;
    assert.equal(outcome.stoppedEarly, false);
    assert.equal(result.iterations, 12);
    assert.ok(outcome.bestIteration > 0, 'training on the held-out ring itself should improve it');
    const best = outcome.checks.find((c) => c.iteration === outcome.bestIteration)!;
    assert.ok(outcome.checks.every((c) => c.loss >= best.loss));
    assert.ok(best.loss < outcome.checks[0]!.loss);
  });

  it('rejects bad settings before starting a worker', async () => {
    const ring = ringSlice();
    const heldOut = batchOf(ring.image, ring.label);
    await assert.rejects(trainModel({ ...engineOptions, spec: tinySpec, data: [ring], iterations: 2, earlyStopping: { heldOut, every: 0, patience: 1 } }), EarlyStoppingError);
    await assert.rejects(trainModel({ ...engineOptions, spec: tinySpec, data: [ring], iterations: 2, earlyStopping: { heldOut, every: 1, patience: 1.5 } }), EarlyStoppingError);
    await assert.rejects(trainModel({ ...engineOptions, spec: tinySpec, data: [ring], iterations: 2, earlyStopping: { heldOut: { ...heldOut, size: 8 }, every: 1, patience: 1 } }), /expects 16/);
  });
});
