import assert from 'node:assert/strict';
import {
  addLaplaceNoise,
  buildHistogram,
  buildReferenceProfile,
  buildSiteIntensityReport,
  HarmonisationError,
  harmoniseImage,
  jensenShannon,
  privatiseHistogram,
  wasserstein1,
} from '@lgefed/shared/harmonise/index';
import { Prng } from '@lgefed/shared/augment/index';
import { loadEmidecSlice } from '../augment/emidec-fixture.js';

const seeded = (seed: number) => {
  const prng = new Prng(seed);
  return () => prng.next();
};

describe('harmonisation: distances', () => {
  const at = (bin: number, bins = 10) => ({ low: 0, high: 1, counts: Array.from({ length: bins }, (_, i) => (i === bin ? 5 : 0)) });

  it('Wasserstein-1 is the shift between two point masses', () => {
    assert.ok(Math.abs(wasserstein1(at(2), at(5)) - 0.3) < 1e-12);
    assert.equal(wasserstein1(at(4), at(4)), 0);
    const spread = { low: 0, high: 1, counts: [1, 0, 0, 0, 0, 0, 0, 0, 0, 1] };
    assert.ok(Math.abs(wasserstein1(spread, at(0)) - 0.45) < 1e-12);
  });

  it('Jensen-Shannon is 0 for equal, 1 for disjoint, symmetric in between', () => {
    assert.equal(jensenShannon(at(3), at(3)), 0);
    assert.equal(jensenShannon(at(1), at(7)), 1);
    const a = { low: 0, high: 1, counts: [3, 1, 0, 2] };
    const b = { low: 0, high: 1, counts: [1, 1, 2, 2] };
    const d = jensenShannon(a, b);
    assert.ok(d > 0 && d < 1);
    assert.equal(d, jensenShannon(b, a));
  });

  it('refuses histograms binned differently', () => {
    assert.throws(() => wasserstein1(at(1, 10), at(1, 12)), /binned differently/);
  });
});

describe('harmonisation: differential privacy', () => {
  const big = { low: 0, high: 1, counts: new Array<number>(20000).fill(1e6) };

  for (const epsilon of [0.1, 1, 5]) {
    it(`adds Laplace noise of scale 1/ε to each count (ε = ${epsilon})`, () => {
      const { noisy, record } = addLaplaceNoise(big, { epsilon, uniform: seeded(epsilon * 10) });
      assert.equal(record.scale, 1 / epsilon);
      const noise = noisy.counts.map((c) => c - 1e6);
      const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
      const meanAbs = noise.reduce((a, b) => a + Math.abs(b), 0) / noise.length;
      const variance = noise.reduce((a, b) => a + (b - mean) ** 2, 0) / noise.length;
      // Laplace(b): E|X| = b, Var X = 2 b². With 20 000 draws both are within a few percent.
      assert.ok(Math.abs(meanAbs * epsilon - 1) < 0.03, `E|noise| = ${meanAbs}, expected ${1 / epsilon}`);
      assert.ok(Math.abs(variance / (2 / epsilon ** 2) - 1) < 0.06, `var = ${variance}, expected ${2 / epsilon ** 2}`);
      assert.ok(Math.abs(mean) < 0.05 / epsilon, `noise mean ${mean}`);
    });
  }

  it('scales with the sensitivity, clamps released counts at 0 and uses fresh noise by default', () => {
    const { record } = addLaplaceNoise(big, { epsilon: 2, sensitivity: 50 });
    assert.equal(record.scale, 25);
    const small = { low: 0, high: 1, counts: new Array<number>(500).fill(1) };
    const released = privatiseHistogram(small, { epsilon: 0.5 });
    assert.ok(released.histogram.counts.every((c) => c >= 0));
    assert.ok(released.histogram.counts.some((c) => c === 0), 'no count went negative before clamping');
    const again = privatiseHistogram(small, { epsilon: 0.5 });
    assert.notDeepEqual(released.histogram.counts, again.histogram.counts);
  });

  it('rejects a non-positive ε or sensitivity', () => {
    assert.throws(() => addLaplaceNoise(big, { epsilon: 0 }), HarmonisationError);
    assert.throws(() => addLaplaceNoise(big, { epsilon: Infinity }), /ε must be a positive finite number/);
    assert.throws(() => addLaplaceNoise(big, { epsilon: 1, sensitivity: -1 }), /sensitivity/);
  });
});

describe('harmonisation: site check against a reference profile', () => {
  const referenceImages = ['Case_N006_slice002', 'Case_N006_slice003', 'Case_N006_slice004'].map((n) => loadEmidecSlice(n).image);
  const reference = buildReferenceProfile(referenceImages);
  /** Another EMIDEC case as a "new site" whose scanner renders intensities with a strong gamma. */
  const siteImages = ['Case_P002_slice003', 'Case_P002_slice004'].map((n) => loadEmidecSlice(n).image.map((v) => Math.pow(v, 2.5)));
  const sameCohort = ['Case_N006_slice005', 'Case_P002_slice004'].map((n) => loadEmidecSlice(n).image);

  it('reports a larger distance for a shifted site than for one like the reference', () => {
    const shifted = buildSiteIntensityReport(siteImages, { epsilon: 1, reference, uniform: seeded(1) });
    const similar = buildSiteIntensityReport(sameCohort, { epsilon: 1, reference, uniform: seeded(2) });
    assert.ok(shifted.distances!.wasserstein1 > 2 * similar.distances!.wasserstein1, JSON.stringify([shifted.distances, similar.distances]));
    assert.ok(shifted.distances!.jensenShannon > similar.distances!.jensenShannon);
  });

  it('sends only noised, plain-number data shaped like the reference', () => {
    const report = buildSiteIntensityReport(siteImages, { epsilon: 0.5, reference, uniform: seeded(3) });
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
    assert.equal(report.histogram.counts.length, reference.histogram.counts.length);
    assert.deepEqual(report.privacy, { mechanism: 'laplace', epsilon: 0.5, sensitivity: 1, scale: 2 });
    const raw = siteImages.map((img) => buildHistogram(img, { bins: 64, low: 0, high: 1 }));
    assert.ok(!raw.some((h) => h.counts.every((c, i) => c === report.histogram.counts[i])), 'raw counts released');
    assert.ok(report.histogram.counts.some((c) => !Number.isInteger(c)), 'counts carry no noise');
    assert.equal(report.quantiles.values.length, 101);
  });

  for (const method of ['histogram', 'nyul'] as const) {
    it(`${method} harmonisation brings the shifted site closer to the reference, padding kept at 0`, () => {
      const harmonised = siteImages.map((img) => harmoniseImage(img, reference, method));
      const before = buildSiteIntensityReport(siteImages, { epsilon: 10, reference, uniform: seeded(4) }).distances!;
      const after = buildSiteIntensityReport(harmonised, { epsilon: 10, reference, uniform: seeded(5) }).distances!;
      assert.ok(after.wasserstein1 < 0.5 * before.wasserstein1, `W1 ${before.wasserstein1} -> ${after.wasserstein1}`);
      harmonised.forEach((img, k) => {
        assert.ok(img.every((v) => v >= 0 && v <= 1));
        siteImages[k]!.forEach((v, i) => {
          if (v === 0) assert.equal(img[i], 0);
        });
      });
    });
  }
});
