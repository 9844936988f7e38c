import assert from 'node:assert/strict';
import { coordinateMedian, createStrategy, inMemoryUpdate, trimmedMean } from '@lgefed/coordinator/aggregation/index';

const sites = (rows: number[][]) => rows.map((r, i) => inMemoryUpdate(`s${i}`, 1 + i, Float32Array.from(r)));

describe('coordinator: coordinate-wise median and trimmed mean', () => {
  it('median ignores one wildly wrong site and handles even counts', async () => {
    const odd = await coordinateMedian().aggregate(sites([[1, 5], [2, 6], [1e6, -1e6]]));
    assert.deepEqual([...odd], [2, 5]);
    const even = await coordinateMedian({ chunk: 1 }).aggregate(sites([[1], [3], [10], [4]]));
    assert.deepEqual([...even], [3.5]);
  });

  it('trimmed mean drops the ⌊βn⌋ extremes at each end per coordinate', async () => {
    const rows = [[0, 100], [1, 1], [2, 2], [3, 3], [1000, -50]];
    const out = await trimmedMean({ trimFraction: 0.2 }).aggregate(sites(rows));
    // n = 5, β = 0.2 -> drop one low and one high per coordinate.
    assert.deepEqual([...out], [2, 2]);
    const untrimmed = await trimmedMean({ trimFraction: 0 }).aggregate(sites(rows));
    assert.ok(Math.abs(untrimmed[0]! - 1006 / 5) < 1e-4);
  });

  it('is unweighted: case counts do not move the median', async () => {
    const a = inMemoryUpdate('a', 1000, Float32Array.from([9]));
    const b = inMemoryUpdate('b', 1, Float32Array.from([1]));
    const c = inMemoryUpdate('c', 1, Float32Array.from([2]));
    assert.deepEqual([...(await coordinateMedian().aggregate([a, b, c]))], [2]);
  });

  it('validates its options and names strategies from a job spec', () => {
    assert.throws(() => trimmedMean({ trimFraction: 0.5 }), { code: 'invalid_argument' });
    assert.equal(createStrategy({ strategy: 'fedprox', mu: 0.1 }).name, 'fedprox');
    assert.equal(createStrategy({ strategy: 'trimmed-mean', trimFraction: 0.1 }).name, 'trimmed-mean');
    assert.throws(() => createStrategy({ strategy: 'krum' } as never), { code: 'invalid_argument' });
  });
});
