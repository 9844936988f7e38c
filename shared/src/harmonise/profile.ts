import { wasserstein1, jensenShannon } from './distances.js';
import { HarmonisationError } from './errors.js';
import { addHistograms, assertSameBinning, buildHistogram, validateHistogram, type IntensityHistogram } from './histogram.js';
import { matchHistogram } from './matching.js';
import { normaliseIntensities, signalMask, type NormaliseOptions } from './normalise.js';
import { applyNyulStandardisation, nyulStandardFromQuantiles } from './nyul.js';
import { privatiseHistogram, type PrivacyRecord, type UniformSource } from './privacy.js';
import { evenProbabilities, quantilesFromHistogram, validateQuantileTable, type QuantileTable } from './quantiles.js';

/** How intensities were normalised before histogramming; a site must use the reference's. */
export interface NormalisationRecord {
  readonly lowerPercentile: number;
  readonly upperPercentile: number;
}

/**
 * The reference cohort's intensity distribution (normalised signal voxels), as the coordinator
 * hands it to sites: no images, only a histogram and the quantile table derived from it.
 */
export interface ReferenceIntensityProfile {
  readonly normalisation: NormalisationRecord;
  readonly histogram: IntensityHistogram;
  readonly quantiles: QuantileTable;
}

/** What a site sends back from a harmonisation check: only differentially private, plain-number data. */
export interface SiteIntensityReport {
  readonly normalisation: NormalisationRecord;
  /** Laplace-noised histogram of the site's normalised signal voxels. */
  readonly histogram: IntensityHistogram;
  /** Derived from the noised histogram (post-processing, no further privacy cost). */
  readonly quantiles: QuantileTable;
  readonly privacy: PrivacyRecord;
  /** Distances from the reference, also computed from the noised histogram. */
  readonly distances?: IntensityDistances;
}

export interface IntensityDistances {
  readonly wasserstein1: number;
  readonly jensenShannon: number;
}

export interface ProfileOptions {
  /** Histogram bins over [0, 1] (default 64). */
  readonly bins?: number;
  /** Probabilities in the quantile table (default 101: every 1 %, so Nyúl's 1st/99th percentiles are exact entries). */
  readonly quantileCount?: number;
  readonly normalisation?: NormaliseOptions;
}

const DEFAULT_BINS = 64;
const DEFAULT_QUANTILES = 101;

function normalisationRecord(options?: NormaliseOptions): NormalisationRecord {
  return { lowerPercentile: options?.lowerPercentile ?? 1, upperPercentile: options?.upperPercentile ?? 99 };
}

/** Histogram of the normalised signal voxels of all images, on [0, 1] (default: the profiles' normalisation). */
export function normalisedHistogram(images: readonly Float32Array[], bins: number, normalisation: NormalisationRecord = normalisationRecord()): IntensityHistogram {
  if (images.length === 0) throw new HarmonisationError('no images to profile');
  return addHistograms(
    images.map((image) => buildHistogram(normaliseIntensities(image, normalisation), { bins, low: 0, high: 1, mask: signalMask(image) })),
  );
}

/** Profile of a public reference cohort (e.g. EMIDEC); built where the images are, never at a site. */
export function buildReferenceProfile(images: readonly Float32Array[], options: ProfileOptions = {}): ReferenceIntensityProfile {
  const normalisation = normalisationRecord(options.normalisation);
  const histogram = normalisedHistogram(images, options.bins ?? DEFAULT_BINS, normalisation);
  validateHistogram(histogram, 'reference cohort');
  return { normalisation, histogram, quantiles: quantilesFromHistogram(histogram, evenProbabilities(options.quantileCount ?? DEFAULT_QUANTILES)) };
}

export interface SiteReportOptions {
  /** Privacy budget of the released histogram. */
  readonly epsilon: number;
  /** L1 sensitivity (default 1: one voxel). */
  readonly sensitivity?: number;
  /** When given, the site's binning and normalisation follow it and distances are reported. */
  readonly reference?: ReferenceIntensityProfile;
  readonly bins?: number;
  readonly quantileCount?: number;
  readonly normalisation?: NormaliseOptions;
  readonly uniform?: UniformSource;
}

/** The harmonisation check at a site: its intensity distribution, privatised, and how far it is from the reference. */
export function buildSiteIntensityReport(images: readonly Float32Array[], options: SiteReportOptions): SiteIntensityReport {
  const { reference } = options;
  const normalisation = reference?.normalisation ?? normalisationRecord(options.normalisation);
  const bins = reference?.histogram.counts.length ?? options.bins ?? DEFAULT_BINS;
  const raw = normalisedHistogram(images, bins, normalisation);
  const { histogram, privacy } = privatiseHistogram(raw, options);
  if (histogram.counts.every((c) => c === 0)) {
    throw new HarmonisationError(`the noised histogram holds no mass: too few voxels for ε = ${options.epsilon}`);
  }
  const quantiles = quantilesFromHistogram(histogram, evenProbabilities(options.quantileCount ?? DEFAULT_QUANTILES));
  if (!reference) return { normalisation, histogram, quantiles, privacy };
  assertSameBinning(histogram, reference.histogram);
  return {
    normalisation,
    histogram,
    quantiles,
    privacy,
    distances: { wasserstein1: wasserstein1(histogram, reference.histogram), jensenShannon: jensenShannon(histogram, reference.histogram) },
  };
}

export type HarmonisationMethod = 'histogram' | 'nyul';

/**
 * Brings one image to the reference distribution: normalise as the reference was, then match the
 * signal voxels to the reference quantiles (full histogram matching, or Nyúl's landmarks only).
 * Padding stays 0; the result is in [0, 1], the range the augmenter and the network expect.
 */
export function harmoniseImage(image: Float32Array, reference: ReferenceIntensityProfile, method: HarmonisationMethod): Float32Array {
  validateQuantileTable(reference.quantiles, 'reference');
  const mask = signalMask(image);
  const normalised = normaliseIntensities(image, reference.normalisation);
  switch (method) {
    case 'histogram':
      return matchHistogram(normalised, reference.histogram, { mask });
    case 'nyul':
      // Nyúl extends its end segments linearly; clip what lands beyond the unit range.
      return applyNyulStandardisation(normalised, nyulStandardFromQuantiles(reference.quantiles), { mask }).map((v) => Math.min(1, Math.max(0, v)));
    default:
      throw new HarmonisationError(`unknown harmonisation method '${method as string}' (expected histogram or nyul)`);
  }
}
