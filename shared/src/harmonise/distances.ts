import { assertSameBinning, probabilities, type IntensityHistogram } from './histogram.js';

/**
 * Wasserstein-1 (earth mover's) distance between two histograms with the same bins, mass placed at
 * bin centres: the area between their CDFs. In intensity units (on [0, 1] intensities, at most 1).
 */
export function wasserstein1(a: IntensityHistogram, b: IntensityHistogram): number {
  assertSameBinning(a, b);
  const pa = probabilities(a);
  const pb = probabilities(b);
  const width = (a.high - a.low) / pa.length;
  let cdfGap = 0;
  let distance = 0;
  for (let i = 0; i < pa.length - 1; i++) {
    cdfGap += pa[i]! - pb[i]!;
    distance += Math.abs(cdfGap) * width;
  }
  return distance;
}

/** Jensen-Shannon divergence in bits (0 for equal histograms, 1 for disjoint ones). */
export function jensenShannon(a: IntensityHistogram, b: IntensityHistogram): number {
  assertSameBinning(a, b);
  const pa = probabilities(a);
  const pb = probabilities(b);
  let divergence = 0;
  for (let i = 0; i < pa.length; i++) {
    const p = pa[i]!;
    const q = pb[i]!;
    const m = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log2(p / m);
    if (q > 0) divergence += 0.5 * q * Math.log2(q / m);
  }
  return Math.max(0, Math.min(1, divergence));
}
