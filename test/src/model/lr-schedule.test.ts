import assert from 'node:assert/strict';
import { initialWeights, isLearningRateSchedule, scheduledLearningRate, trainModel, type LearningRateSchedule } from '@lgefed/shared/model/index';
import { engineOptions, ringSlice, tinySpec } from './tiny.js';

describe('model: learning-rate schedule', () => {
  it('poly decays as nnU-Net does, lr·(1 − i/N)^0.9, and constant stays put', () => {
    assert.equal(scheduledLearningRate('poly', 1e-3, 0, 100), 1e-3);
    assert.ok(Math.abs(scheduledLearningRate('poly', 1e-3, 50, 100) - 1e-3 * 0.5 ** 0.9) < 1e-15);
    const last = scheduledLearningRate('poly', 1e-3, 99, 100);
    assert.ok(last > 0 && last < 2e-5, `last rate ${last}`);
    assert.equal(scheduledLearningRate('constant', 1e-3, 99, 100), 1e-3);
    assert.ok(isLearningRateSchedule('poly') && !isLearningRateSchedule('cosine'));
  });

  it('reaches the training worker: poly moves the weights less than constant over the same batches', async () => {
    const start = initialWeights(tinySpec, 3);
    const run = (learningRateSchedule: LearningRateSchedule) =>
      trainModel({ ...engineOptions, spec: tinySpec, initialWeights: start, data: [ringSlice(), ringSlice(16, [7, 8])], batchSize: 2, iterations: 6, learningRate: 1e-2, seed: 1, learningRateSchedule });
    const moved = (weights: { data: Float32Array }[]) => weights.reduce((sum, t, i) => sum + t.data.reduce((s, v, j) => s + Math.abs(v - start[i]!.data[j]!), 0), 0);
    const [constant, poly] = [await run('constant'), await run('poly')];
    // The first step is identical (same rate); later steps are smaller under poly.
    assert.equal(constant.losses[0], poly.losses[0]);
    assert.notEqual(constant.modelId, poly.modelId);
    assert.ok(moved(poly.weights) < moved(constant.weights), `poly moved ${moved(poly.weights)}, constant ${moved(constant.weights)}`);
  });
});
