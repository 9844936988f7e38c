import { readFile } from 'node:fs/promises';
import type { BackendRequest } from '@lgefed/shared/engine/index';
import { buildHistogram, jensenShannon, normaliseIntensities, signalMask, addHistograms, wasserstein1, type IntensityHistogram, type ReferenceIntensityProfile } from '@lgefed/shared/harmonise/index';
import { loadDataset } from '@lgefed/shared/imaging/dataset';
import type { Layout } from '@lgefed/shared/imaging/layouts';
import { evaluateCase, type CaseScores } from '@lgefed/shared/metrics/evaluate';
import { loadModel } from '@lgefed/shared/model/io';
import { Predictor } from '@lgefed/shared/model/predictor';
import type { HistogramBinRow } from '@lgefed/shared/plots/figures';
import type { Case, LabelVolume } from '@lgefed/shared/types';

/** How far each case's intensities are from the comparison distribution (the reference, or the site's own pooled). */
export interface CaseDistance {
  readonly caseId: string;
  readonly wasserstein1: number;
  readonly jensenShannon: number;
  readonly flagged: boolean;
}

export interface ReviewHarmonisation {
  /** What the cases were compared with. */
  readonly comparedWith: 'reference profile' | 'site pooled';
  readonly flagWasserstein: number;
  readonly cases: readonly CaseDistance[];
  /** Per case and the comparison distribution, as fractions per bin (figure rows). */
  readonly histograms: readonly HistogramBinRow[];
}

export interface SiteReview {
  readonly cases: readonly Case[];
  readonly predictions: ReadonlyMap<string, LabelVolume>;
  /** Per case with labels; absent for unlabelled cases. */
  readonly metrics: ReadonlyMap<string, CaseScores>;
  readonly harmonisation: ReviewHarmonisation;
}

export interface SiteReviewOptions {
  readonly modelDir: string;
  readonly dataDir: string;
  readonly layout?: Layout | 'auto';
  /** A reference profile (JSON from buildReferenceProfile) to compare intensities with; default: the site's own pooled histogram. */
  readonly referenceFile?: string;
  readonly flagWasserstein?: number;
  /** Inference backend (default: the engine's choice, LGEFED_BACKEND). */
  readonly backend?: BackendRequest;
  readonly onProgress?: (done: number, total: number, caseId: string) => void;
}

const BINS = 64;

function fractions(source: string, h: IntensityHistogram): HistogramBinRow[] {
  const mass = h.counts.reduce((a, b) => a + b, 0);
  const width = (h.high - h.low) / h.counts.length;
  return mass > 0 ? h.counts.map((c, i) => ({ source, intensity: h.low + i * width, fraction: c / mass })) : [];
}

/**
 * Runs the model over a site's own folder (inference in a worker thread), scores the cases that
 * have labels and profiles every case's intensities. Everything stays in this process.
 */
export async function analyseSite(options: SiteReviewOptions): Promise<SiteReview> {
  const model = await loadModel(options.modelDir);
  const dataset = await loadDataset(options.dataDir, { layout: options.layout ?? 'auto' });
  if (dataset.cases.length === 0) throw new Error(`no usable cases in ${options.dataDir}${dataset.problems.length ? `: ${dataset.problems[0]!.message}` : ''}`);
  const { predictor } = await Predictor.start(model.spec, model.weights, { onLog: () => undefined, ...(options.backend ? { backend: options.backend } : {}) });
  const predictions = new Map<string, LabelVolume>();
  const metrics = new Map<string, CaseScores>();
  try {
    for (const [i, c] of dataset.cases.entries()) {
      const predicted = await predictor.predict(c.image);
      predictions.set(c.id, predicted);
      if (c.label) metrics.set(c.id, evaluateCase(predicted, c.label));
      options.onProgress?.(i + 1, dataset.cases.length, c.id);
    }
  } finally {
    await predictor.close();
  }
  const reference = options.referenceFile ? (JSON.parse(await readFile(options.referenceFile, 'utf8')) as ReferenceIntensityProfile) : undefined;
  const normalisation = reference?.normalisation ?? { lowerPercentile: 1, upperPercentile: 99 };
  const perCase = dataset.cases.map((c) => ({
    caseId: c.id,
    histogram: buildHistogram(normaliseIntensities(c.image.data, normalisation), { bins: reference?.histogram.counts.length ?? BINS, low: 0, high: 1, mask: signalMask(c.image.data) }),
  }));
  const comparison = reference?.histogram ?? addHistograms(perCase.map((p) => p.histogram));
  const flagWasserstein = options.flagWasserstein ?? 0.05;
  const comparedWith = reference ? 'reference profile' : 'site pooled';
  return {
    cases: dataset.cases,
    predictions,
    metrics,
    harmonisation: {
      comparedWith,
      flagWasserstein,
      cases: perCase.map((p) => {
        const w1 = wasserstein1(p.histogram, comparison);
        return { caseId: p.caseId, wasserstein1: w1, jensenShannon: jensenShannon(p.histogram, comparison), flagged: w1 > flagWasserstein };
      }),
      histograms: [...fractions(comparedWith, comparison), ...perCase.flatMap((p) => fractions(p.caseId, p.histogram))],
    },
  };
}
