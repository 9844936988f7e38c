import assert from 'node:assert/strict';
import { meanSd, summariseScores } from '@lgefed/shared/workflows/index';

const scores = (bp: number, myo: number, hd: number | null) => ({
  bloodpool: { dice: bp, hd95Mm: hd, predictedMl: 1, trueMl: 1 },
  myocardium: { dice: myo, hd95Mm: 2, predictedMl: 1, trueMl: 1 },
});

describe('workflows: score summaries', () => {
  it('gives mean and sample sd per structure, HD95 over the cases where it is defined', () => {
    assert.deepEqual(meanSd([2, 4, 4, 4, 5, 5, 7, 9]), { mean: 5, sd: Math.sqrt(32 / 7), n: 8 });
    assert.deepEqual(meanSd([0.5]), { mean: 0.5, sd: 0, n: 1 });
    const summary = summariseScores([scores(0.9, 0.8, 3), scores(0.7, 0.6, null)]);
    assert.ok(Math.abs(summary.dice.bloodpool.mean - 0.8) < 1e-12);
    assert.ok(Math.abs(summary.dice.bloodpool.sd - Math.sqrt(0.02)) < 1e-12);
    assert.ok(Math.abs(summary.dice.myocardium.mean - 0.7) < 1e-12);
    assert.deepEqual(summary.hd95.bloodpool, { mean: 3, sd: 0, n: 1 });
    assert.equal(summary.hd95.myocardium!.n, 2);
  });
});
