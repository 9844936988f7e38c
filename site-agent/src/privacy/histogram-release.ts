import {
  buildHistogram,
  HarmonisationError,
  jensenShannon,
  normaliseIntensities,
  quantilesFromHistogram,
  signalMask,
  wasserstein1,
  type IntensityHistogram,
  type ReferenceIntensityProfile,
  type SiteIntensityReport,
} from '@lgefed/shared/harmonise/index';
import { discreteLaplace, secureRandomInt, type RandomInt } from './discrete-laplace.js';
import { toMicroEpsilon } from './ledger.js';

/** Integer units each patient's histogram is split into (its weight, whatever its voxel count). */
export const QUANTA_PER_PATIENT = 1000;

/**
 * L1 sensitivity of the released histogram in patients: every patient (case) contributes one
 * histogram normalised to mass 1, so replacing one patient by any other moves at most 1 of mass
 * out of some bins and 1 into others. The number of patients is released as is (bounded DP).
 */
export const PATIENT_SENSITIVITY = 2;

/** How the release was protected; the agent decides every field, the coordinator only reads them. */
export interface ReleasePrivacy {
  readonly mechanism: 'discrete-laplace';
  readonly epsilon: number;
  /** L1 sensitivity in released units (patients). */
  readonly sensitivity: number;
  /** Noise scale per bin in released units: sensitivity / ε. */
  readonly scale: number;
}

export type SiteHistogramRelease = Omit<SiteIntensityReport, 'privacy'> & { readonly privacy: ReleasePrivacy };

/** One patient's normalised signal-voxel histogram as integers summing to exactly QUANTA_PER_PATIENT (largest remainders). */
function patientQuanta(image: Float32Array, reference: ReferenceIntensityProfile): number[] {
  const { low, high, counts } = reference.histogram;
  const h = buildHistogram(normaliseIntensities(image, reference.normalisation), { bins: counts.length, low, high, mask: signalMask(image) });
  const voxels = h.counts.reduce((a, b) => a + b, 0);
  if (voxels === 0) return h.counts.map(() => 0);
  const exact = h.counts.map((c) => (c * QUANTA_PER_PATIENT) / voxels);
  const quanta = exact.map(Math.floor);
  const order = exact.map((x, i) => [x - quanta[i]!, i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0, left = QUANTA_PER_PATIENT - quanta.reduce((a, b) => a + b, 0); k < left; k++) quanta[order[k]![1]]!++;
  return quanta;
}

/**
 * The site's intensity histogram released under ε-differential privacy per patient: the
 * patients' quantised histograms are summed, every bin gets exact discrete Laplace noise of scale
 * PATIENT_SENSITIVITY / ε (in patients), negative bins are clamped to 0 and the result is
 * expressed in patients. Quantiles and distances are computed from the released histogram only
 * (post-processing costs no privacy). The sensitivity is the site's: nothing in a task changes it.
 */
export function releaseIntensityHistogram(images: readonly Float32Array[], reference: ReferenceIntensityProfile, epsilon: number, random: RandomInt = secureRandomInt): SiteHistogramRelease {
  if (images.length === 0) throw new HarmonisationError('no images to profile');
  const micro = toMicroEpsilon(epsilon);
  if (!(micro > 0)) throw new HarmonisationError(`ε must be at least 1e-6, got ${epsilon}`);
  const total = reference.histogram.counts.map(() => 0);
  for (const image of images) patientQuanta(image, reference).forEach((q, i) => (total[i]! += q));
  // Noise P(x) ∝ exp(-|x| ε / Δ) with Δ = PATIENT_SENSITIVITY · QUANTA_PER_PATIENT quanta and ε = micro / 1e6.
  const delta = PATIENT_SENSITIVITY * QUANTA_PER_PATIENT;
  const noisy = total.map((q) => Math.max(0, q + discreteLaplace(micro, delta * 1e6, random)) / QUANTA_PER_PATIENT);
  if (noisy.every((c) => c === 0)) throw new HarmonisationError(`the noised histogram holds no mass: too few patients for ε = ${micro / 1e6}`);
  const histogram: IntensityHistogram = { low: reference.histogram.low, high: reference.histogram.high, counts: noisy };
  const released = micro / 1e6;
  return {
    normalisation: { ...reference.normalisation },
    histogram,
    quantiles: quantilesFromHistogram(histogram, reference.quantiles.probabilities),
    privacy: { mechanism: 'discrete-laplace', epsilon: released, sensitivity: PATIENT_SENSITIVITY, scale: PATIENT_SENSITIVITY / released },
    distances: { wasserstein1: wasserstein1(histogram, reference.histogram), jensenShannon: jensenShannon(histogram, reference.histogram) },
  };
}
