import assert from 'node:assert/strict';
import { chunkFor, fedAvg, inMemoryUpdate, type ClientUpdate } from '@lgefed/coordinator/aggregation/index';
import { seededUniform } from './seeded-uniform.js';

describe('coordinator: FedAvg aggregation', () => {
  it('weights each site by its training cases', async () => {
    const a = inMemoryUpdate('a', 30, Float32Array.from([1, 10, -2]));
    const b = inMemoryUpdate('b', 10, Float32Array.from([5, 2, 2]));
    const out = await fedAvg().aggregate([a, b]);
    assert.deepEqual([...out], [(30 * 1 + 10 * 5) / 40, (30 * 10 + 10 * 2) / 40, (30 * -2 + 10 * 2) / 40]);
  });

  it('gives the same answer whatever the chunk size and site order', async () => {
    const rng = seededUniform(7);
    const updates = Array.from({ length: 5 }, (_, s) =>
      inMemoryUpdate(`s${s}`, 1 + s * 3, Float32Array.from({ length: 1000 }, () => rng() * 2 - 1)),
    );
    const whole = await fedAvg().aggregate(updates);
    const chunked = await fedAvg({ chunk: 7 }).aggregate([...updates].reverse());
    for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(whole[i]! - chunked[i]!) < 1e-6);
  });

  it('streams: reads at most the chunk being combined and the next one per site, and emits chunks in order', async () => {
    const count = 10_000;
    const chunk = 256;
    let outstanding = 0;
    let mostOutstanding = 0;
    const tracked = (site: string, n: number, value: number): ClientUpdate => ({
      siteId: site,
      numExamples: n,
      parameterCount: count,
      async read(_start, length) {
        assert.ok(length <= chunk, `read ${length} values at once`);
        outstanding += length;
        mostOutstanding = Math.max(mostOutstanding, outstanding);
        return new Float32Array(length).fill(value);
      },
    });
    const emitted: number[] = [];
    const total = await fedAvg({ chunk }).stream([tracked('a', 1, 0), tracked('b', 3, 4)], async (start, values) => {
      assert.equal(start, emitted.length * chunk, 'chunks arrive in order');
      assert.ok(values.every((v) => v === 3));
      outstanding -= 2 * values.length; // both sites' slices of this chunk are released once it is emitted
      emitted.push(values.length);
    });
    assert.equal(total, count);
    assert.equal(emitted.reduce((a, b) => a + b, 0), count);
    assert.equal(mostOutstanding, 2 * 2 * chunk, 'never more than two chunks per site in flight');
  });

  it('shrinks the chunk as sites grow so chunk × sites stays within the memory budget', () => {
    const budget = 32 * 1024 * 1024;
    for (const sites of [1, 10, 100, 1000]) assert.ok(chunkFor(sites, undefined, budget) * sites * 4 <= budget);
    assert.ok(chunkFor(1000, undefined, budget) < chunkFor(10, undefined, budget));
    assert.equal(chunkFor(50, 7, budget), 7, 'an explicit chunk wins');
  });

  it('carries FedProx μ in the training configuration only when set', () => {
    assert.deepEqual(fedAvg().configure({ epochs: 2 }), { epochs: 2 });
    const prox = fedAvg({ proximalMu: 0.01 });
    assert.equal(prox.name, 'fedprox');
    assert.deepEqual(prox.configure({ epochs: 2 }), { epochs: 2, proximalMu: 0.01 });
    assert.throws(() => fedAvg({ proximalMu: -1 }), { code: 'invalid_argument' });
  });

  it('rejects mismatched models, zero case counts and non-finite values with typed errors', async () => {
    const ok = inMemoryUpdate('a', 1, Float32Array.from([1, 2]));
    await assert.rejects(fedAvg().aggregate([ok, inMemoryUpdate('b', 1, Float32Array.from([1]))]), { code: 'aggregation_failed', message: /site b sent 1 parameters/ });
    await assert.rejects(fedAvg().aggregate([ok, inMemoryUpdate('b', 0, Float32Array.from([1, 2]))]), { code: 'aggregation_failed', message: /training cases/ });
    await assert.rejects(fedAvg().aggregate([ok, inMemoryUpdate('b', 1, Float32Array.from([1, NaN]))]), { code: 'aggregation_failed', message: /site b sent a non-finite value at parameter 1/ });
    // Found whichever site sends it, in whichever chunk, even where two infinities would cancel.
    const long = (fill: (i: number) => number) => Float32Array.from({ length: 50 }, (_, i) => fill(i));
    const sites = [inMemoryUpdate('a', 2, long((i) => (i === 33 ? -Infinity : i))), inMemoryUpdate('b', 2, long((i) => (i === 33 ? Infinity : 1))), inMemoryUpdate('c', 1, long(() => 2))];
    await assert.rejects(fedAvg({ chunk: 8 }).aggregate(sites), { code: 'aggregation_failed', message: /site a sent a non-finite value at parameter 33/ });
    await assert.rejects(fedAvg({ chunk: 8 }).aggregate([inMemoryUpdate('solo', 3, long((i) => (i === 49 ? NaN : i)))]), { code: 'aggregation_failed', message: /site solo sent a non-finite value at parameter 49/ });
    await assert.rejects(fedAvg().aggregate([]), { code: 'aggregation_failed' });
  });
});
