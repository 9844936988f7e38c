import assert from 'node:assert/strict';
import { weightedMeanInto } from '@lgefed/shared/model/weighted-mean';
import { seededUniform } from '../coordinator/seeded-uniform.js';

describe('model: the FedAvg weighted mean (coordinator and experiments alike)', () => {
  it('equals a per-coordinate float64 loop in site order, bit for bit, for 1 to 5 sites', () => {
    const rng = seededUniform(3);
    for (let sites = 1; sites <= 5; sites++) {
      const values = Array.from({ length: sites }, () => Float32Array.from({ length: 257 }, () => (rng() * 2 - 1) * 1e3));
      const weights = Array.from({ length: sites }, (_, s) => 1 + s * 7);
      const total = weights.reduce((a, b) => a + b, 0);
      const out = new Float32Array(257);
      assert.equal(weightedMeanInto(out, values, weights, 257), 0);
      for (let i = 0; i < 257; i++) {
        let sum = 0;
        values.forEach((v, s) => (sum += weights[s]! * v[i]!));
        assert.equal(out[i], Math.fround(sum / total), `${sites} sites, coordinate ${i}`);
      }
    }
  });

  it('says when a mean is not finite, whichever site sent the NaN or infinity', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (let sites = 1; sites <= 4; sites++) {
        const values = Array.from({ length: sites }, () => new Float32Array(9).fill(1));
        values[sites - 1]![4] = bad;
        assert.ok(Number.isNaN(weightedMeanInto(new Float32Array(9), values, values.map(() => 2), 9)), `${bad} from site ${sites}`);
      }
    }
  });
});
