import {
  HarmonisationError,
  jensenShannon,
  validateHistogram,
  validateQuantileTable,
  wasserstein1,
  type IntensityHistogram,
  type ReferenceIntensityProfile,
} from '@lgefed/shared/harmonise/index';
import { CoordinatorError } from '../errors.js';
import type { Json, RoundRecord } from '../store/jobs.js';
import type { ValidatedHarmonisationCheckSpec } from './job-schemas.js';
import { asObject, minSitesOf, siteList, taskLimits, type TaskLimits } from './spec.js';
import type { HarmonisationCheckResultMetrics, HarmonisationCheckTaskPayload } from './task-payloads.js';
import type { FinishedRound, NextStep, Workflow, WorkflowContext } from './workflow.js';

export interface HarmonisationCheckSpec {
  readonly siteIds: readonly string[];
  readonly reference: ReferenceIntensityProfile;
  /** Privacy budget each site may spend on its histogram (its policy may spend less). */
  readonly epsilon: number;
  /** Sites farther than this (W1, intensity units on [0, 1]) from the reference are flagged for harmonisation. */
  readonly flagWasserstein: number;
  readonly minSites: number;
  readonly limits: TaskLimits;
}

export interface SiteDistance {
  readonly site: string;
  readonly wasserstein1: number;
  readonly jensenShannon: number;
  readonly flagged: boolean;
  readonly imagesProfiled: number;
  readonly epsilon: number;
  /** Noise scale per bin relative to the released mass (bins × scale / mass): how much to trust the distances. */
  readonly relativeNoise: number;
}

const bad = (message: string) => new CoordinatorError('invalid_argument', message);

/** Validates the reference profile an admin submits (built with `buildReferenceProfile`). */
export function parseReferenceProfile(value: unknown): ReferenceIntensityProfile {
  const o = asObject(value, 'reference');
  const normalisation = asObject(o['normalisation'], 'reference.normalisation');
  const lower = normalisation['lowerPercentile'];
  const upper = normalisation['upperPercentile'];
  if (typeof lower !== 'number' || typeof upper !== 'number' || !(lower >= 0 && lower < upper && upper <= 100)) {
    throw bad('reference.normalisation needs 0 ≤ lowerPercentile < upperPercentile ≤ 100');
  }
  const histogram = asObject(o['histogram'], 'reference.histogram') as unknown as IntensityHistogram;
  const quantiles = asObject(o['quantiles'], 'reference.quantiles') as unknown as ReferenceIntensityProfile['quantiles'];
  if (!Array.isArray(histogram.counts) || !Array.isArray(quantiles.probabilities) || !Array.isArray(quantiles.values)) {
    throw bad('reference.histogram.counts, reference.quantiles.probabilities and .values must be lists');
  }
  try {
    validateHistogram(histogram, 'reference.histogram');
    validateQuantileTable(quantiles, 'reference.quantiles');
  } catch (err) {
    if (err instanceof HarmonisationError) throw bad(err.message);
    throw err;
  }
  return {
    normalisation: { lowerPercentile: lower, upperPercentile: upper },
    histogram: { low: histogram.low, high: histogram.high, counts: [...histogram.counts] },
    quantiles: { probabilities: [...quantiles.probabilities], values: [...quantiles.values] },
  };
}

/**
 * `harmonisation-check`: every site releases a differentially private histogram of its normalised
 * intensities; the coordinator measures each against the reference (and the sites against each
 * other) from the noised histograms alone, and flags the sites that need harmonising.
 */
export const harmonisationCheckWorkflow: Workflow<HarmonisationCheckSpec> = {
  kind: 'harmonisation-check',
  parse(raw: unknown, ctx: WorkflowContext): HarmonisationCheckSpec {
    const spec = raw as ValidatedHarmonisationCheckSpec;
    const siteIds = siteList(spec.sites, ctx);
    return {
      siteIds,
      reference: parseReferenceProfile(spec.reference),
      epsilon: spec.epsilon,
      flagWasserstein: spec.flagWasserstein,
      minSites: minSitesOf(spec.minSites, siteIds.length),
      limits: taskLimits(spec),
    };
  },
  next(spec: HarmonisationCheckSpec, finished: readonly RoundRecord[]): NextStep {
    if (finished.length > 0) return { type: 'done', summary: finished[0]!.outcome };
    const payload: HarmonisationCheckTaskPayload = { reference: spec.reference, epsilon: spec.epsilon };
    return {
      type: 'round',
      name: 'harmonisation-check',
      minSites: spec.minSites,
      tasks: spec.siteIds.map((siteId) => ({ siteId, kind: 'harmonisation-check', payload: payload as unknown as Json, ...spec.limits })),
    };
  },
  async completeRound(spec: HarmonisationCheckSpec, round: FinishedRound, ctx: WorkflowContext): Promise<Json> {
    const siteName = (id: string) => ctx.site(id)?.name ?? id;
    // Shapes, binning and privacy records were checked when each result arrived (result-validation.ts).
    const reports = round.results.map((r) => ({ site: siteName(r.siteId), images: r.numExamples, report: r.metrics as unknown as HarmonisationCheckResultMetrics }));
    const distances: SiteDistance[] = reports.map(({ site, images, report }) => {
      const w1 = wasserstein1(report.histogram, spec.reference.histogram);
      const mass = report.histogram.counts.reduce((a, b) => a + b, 0);
      return {
        site,
        wasserstein1: w1,
        jensenShannon: jensenShannon(report.histogram, spec.reference.histogram),
        flagged: w1 > spec.flagWasserstein,
        imagesProfiled: images,
        epsilon: report.privacy.epsilon,
        relativeNoise: (report.histogram.counts.length * report.privacy.scale) / mass,
      };
    });
    const pairwise = reports.flatMap((a, i) => reports.slice(i + 1).map((b) => ({ sites: [a.site, b.site], wasserstein1: wasserstein1(a.report.histogram, b.report.histogram) })));
    const excluded = round.tasks.filter((t) => t.status === 'excluded').map((t) => ({ site: siteName(t.siteId), reason: t.excludedReason }));
    return {
      flagWasserstein: spec.flagWasserstein,
      sites: [...distances].sort((a, b) => b.wasserstein1 - a.wasserstein1),
      flagged: distances.filter((d) => d.flagged).map((d) => d.site).sort(),
      pairwise,
      excluded,
    } as unknown as Json;
  },
};
