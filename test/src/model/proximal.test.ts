import assert from 'node:assert/strict';
import { initialWeights, trainModel, type NamedTensor } from '@lgefed/shared/model/index';
import { engineOptions, ringSlice, tinySpec } from './tiny.js';

/** Euclidean distance between two weight sets of the same layout. */
function distance(a: readonly NamedTensor[], b: readonly NamedTensor[]): number {
  let sum = 0;
  a.forEach((t, i) => t.data.forEach((v, j) => (sum += (v - b[i]!.data[j]!) ** 2)));
  return Math.sqrt(sum);
}

describe('model: FedProx proximal term', () => {
  const start = initialWeights(tinySpec, 7);
  const run = (proximalMu?: number) =>
    trainModel({ ...engineOptions, spec: tinySpec, initialWeights: start, data: [ringSlice(), ringSlice(16, [7, 8])], batchSize: 2, iterations: 8, learningRate: 1e-2, seed: 1, ...(proximalMu === undefined ? {} : { proximalMu }) });

  it('is off at μ = 0: the same weights as without the option', async () => {
    const [plain, zero] = [await run(), await run(0)];
    assert.equal(plain.modelId, zero.modelId);
  });

  it('keeps the local weights near the starting (global) model as μ grows', async () => {
    const [free, pulled] = [await run(0), await run(1000)];
    const drift = distance(free.weights, start);
    const held = distance(pulled.weights, start);
    assert.ok(drift > 0 && held > 0, 'both runs train');
    assert.ok(held < drift / 2, `with μ = 1000 the weights moved ${held.toFixed(4)}, without ${drift.toFixed(4)}`);
  });

  it('refuses a negative μ', async () => {
    await assert.rejects(run(-1), /proximalMu/);
  });
});
