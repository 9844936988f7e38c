import assert from 'node:assert/strict';
import {
  applyNyulStandardisation,
  buildHistogram,
  HarmonisationError,
  learnNyulStandard,
  matchHistogram,
  NYUL_PERCENTILES,
  quantilesFromValues,
} from '@lgefed/shared/harmonise/index';
import { Prng } from '@lgefed/shared/augment/index';
import { loadEmidecSlice } from '../augment/emidec-fixture.js';
import { skimageMatchHistograms } from './skimage.js';

/** A continuous-valued image: an EMIDEC slice put through a gamma curve, with a little noise. */
function continuousImage(name: string, gamma: number, seed: number): Float32Array {
  const prng = new Prng(seed);
  return loadEmidecSlice(name).image.map((v) => Math.pow(v, gamma) * 0.9 + 0.05 + 0.01 * prng.gaussian());
}

/** Differences in units of the reference bin width: mean, 99.9th percentile and maximum. */
function differenceInBins(a: Float32Array, b: Float32Array, binWidth: number): { mean: number; p999: number; max: number } {
  const d = Float64Array.from(a, (v, i) => Math.abs(v - b[i]!) / binWidth).sort();
  return { mean: d.reduce((x, y) => x + y, 0) / d.length, p999: d[Math.floor(d.length * 0.999)]!, max: d[d.length - 1]! };
}

/**
 * "Within binning error": a histogram knows each bin's mass, not where in the bin it lies, so voxels
 * may land up to a bin off (on average half a bin when the reference is a set of point masses, far
 * less for continuous data); a few, where an isolated reference bin follows a gap, a few bins off.
 */
function assertWithinBinningError(ours: Float32Array, expected: Float32Array, binWidth: number, meanLimit = 0.1): void {
  const { mean, p999, max } = differenceInBins(ours, expected, binWidth);
  const detail = `mean ${mean.toFixed(3)}, 99.9th percentile ${p999.toFixed(2)}, max ${max.toFixed(2)} bins`;
  assert.ok(mean < meanLimit && p999 <= 1 && max <= 4, detail);
}

describe('harmonisation: histogram matching', () => {
  const source = continuousImage('Case_N006_slice003', 1.6, 1);
  const referenceImage = continuousImage('Case_P002_slice004', 0.7, 2);

  for (const bins of [64, 256, 1024]) {
    it(`agrees with skimage match_histograms within binning error, from a ${bins}-bin reference histogram`, async () => {
      const expected = await skimageMatchHistograms(source, referenceImage);
      const lo = Math.min(...referenceImage);
      const hi = Math.max(...referenceImage);
      const histogram = buildHistogram(referenceImage, { bins, low: lo, high: hi });
      const ours = matchHistogram(source, histogram);
      assertWithinBinningError(ours, expected, (hi - lo) / bins);
    });
  }

  it('agrees with skimage on a quantized 8-bit reference (point masses)', async () => {
    const reference = loadEmidecSlice('Case_P002_slice004').image;
    const expected = await skimageMatchHistograms(source, reference);
    const ours = matchHistogram(source, buildHistogram(reference, { bins: 256, low: 0, high: 1 }));
    assertWithinBinningError(ours, expected, 1 / 256, 0.5);
  });

  it('takes a quantile table as the reference and lands on its quantiles', () => {
    const table = quantilesFromValues(referenceImage, Array.from({ length: 201 }, (_, i) => i / 200));
    const matched = matchHistogram(source, table);
    const after = quantilesFromValues(matched, [0.1, 0.5, 0.9]);
    const wanted = quantilesFromValues(referenceImage, [0.1, 0.5, 0.9]);
    after.values.forEach((v, i) => assert.ok(Math.abs(v - wanted.values[i]!) < 0.01, `q${after.probabilities[i]}: ${v} vs ${wanted.values[i]}`));
  });

  it('keeps voxel order and leaves masked-out voxels untouched', () => {
    const mask = new Uint8Array(source.length).map((_, i) => (i % 3 === 0 ? 0 : 1));
    const matched = matchHistogram(source, buildHistogram(referenceImage, { bins: 128, low: 0, high: 1 }), { mask });
    for (let i = 0; i < source.length; i += 3) assert.equal(matched[i], source[i]);
    for (let i = 1; i + 1 < source.length; i += 3) {
      if (source[i]! < source[i + 1]!) assert.ok(matched[i]! <= matched[i + 1]!, 'order broken');
    }
  });

  it('rejects malformed references with HarmonisationError', () => {
    assert.throws(() => matchHistogram(source, { low: 0, high: 1, counts: [0, 0] }), /holds no mass/);
    assert.throws(() => matchHistogram(source, { probabilities: [0, 0.5], values: [0, 1] }), /run from 0 to 1/);
    assert.throws(() => matchHistogram(source, { probabilities: [0, 1], values: [1, 0] }), HarmonisationError);
  });
});

describe('harmonisation: Nyúl landmark standardisation', () => {
  const training = ['Case_N006_slice003', 'Case_N006_slice004', 'Case_P002_slice004'].map((n, k) => continuousImage(n, 0.8 + 0.2 * k, k));

  it('maps an image so that its landmarks fall on the learned standard', () => {
    const standard = learnNyulStandard(training);
    assert.equal(standard.landmarks[0], 0);
    assert.equal(standard.landmarks.at(-1), 1);
    const image = continuousImage('Case_P002_slice005', 2.2, 9).map((v) => 300 * v + 40);
    const standardised = applyNyulStandardisation(image, standard);
    const landmarks = quantilesFromValues(standardised, NYUL_PERCENTILES.map((p) => p / 100)).values;
    landmarks.forEach((v, i) => assert.ok(Math.abs(v - standard.landmarks[i]!) < 1e-4, `landmark ${NYUL_PERCENTILES[i]}: ${v} vs ${standard.landmarks[i]}`));
  });

  it('refuses images whose landmarks coincide', () => {
    const flat = new Float32Array(1000).fill(0.5);
    assert.throws(() => applyNyulStandardisation(flat, learnNyulStandard(training)), /coincide/);
  });
});
