import type { ReferenceIntensityProfile, SiteIntensityReport } from '@lgefed/shared/harmonise/index';
import type { FreezeOptions } from '@lgefed/shared/model/freeze';
import type { TestTimePasses } from '@lgefed/shared/model/test-time-scales';
import type { Structure } from '@lgefed/shared/types';

/**
 * The contract between the coordinator and a site agent: what each task kind carries to the site
 * (`TaskMessage.payload`) and what its result must carry back (`SiteResult.metrics`,
 * `numExamples`, `modelHash`). The coordinator checks every result against these shapes; a result
 * that does not match excludes that site from the round with the reason recorded.
 */
export const TASK_KINDS = ['train', 'evaluate', 'harmonisation-check', 'finetune'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** Flat hyper-parameters: `epochs`, `seed`, and per job kind `proximalMu` (FedProx), `round`, … */
export type TrainingHyperparameters = Readonly<Record<string, string | number | boolean>>;

/** n / mean / sd of a per-case metric over a site's cases: what travels instead of per-case values. */
export interface MetricSummaryPayload {
  readonly n: number;
  readonly mean: number;
  readonly sd: number;
}

/** One summary per LV structure (`bloodpool`, `myocardium`). */
export type StructureSummaries = Readonly<Record<Structure, MetricSummaryPayload>>;

/** The test split and metric a site scores with: the split fixed and persisted at the site, Dice per case (3D). */
export interface EvaluationRequest {
  readonly split: 'test';
  readonly metric: 'dice';
  /** How the site segments when it scores; absent: one pass. */
  readonly inference?: TestTimePasses;
}

/**
 * `train` (pretrain, train, FedAvg local baselines and rounds): train on the site's training split
 * from `initialModel` (or from `config.seed` when null) and upload the weights.
 * Result: `modelHash` of the uploaded weights (same architecture; the same tensor layout as
 * `initialModel` when given; finite values), `numExamples` = training cases used (> 0),
 * `metrics` = {@link TrainResultMetrics}.
 */
export interface TrainTaskPayload {
  readonly architecture: string;
  readonly initialModel: string | null;
  readonly config: TrainingHyperparameters;
}
/** Final training figures by name (e.g. `loss`, `valDice`): finite numbers only. */
export type TrainResultMetrics = Readonly<Record<string, number>>;

/**
 * `evaluate` (cross-site matrix): score every listed model on the site's test split.
 * Result: no weights, `numExamples` = test cases scored, `metrics` = {@link EvaluateResultMetrics}.
 */
export interface EvaluateTaskPayload extends EvaluationRequest {
  readonly models: readonly { readonly label: string; readonly hash: string }[];
}
/** Per model label in the payload: per-structure summaries over the site's test cases. */
export type EvaluateResultMetrics = Readonly<Record<string, StructureSummaries>>;

/**
 * `harmonisation-check`: profile the site's images as the reference was profiled (same
 * normalisation and binning) and release the histogram under differential privacy with at most
 * `epsilon` (the site's policy and privacy budget may refuse it). The site alone decides the
 * mechanism and its sensitivity (discrete Laplace, per patient: `site-agent/src/privacy`).
 * Result: no weights, `numExamples` = images profiled (≥ 1), `metrics` = the site's release.
 */
export interface HarmonisationCheckTaskPayload {
  readonly reference: ReferenceIntensityProfile;
  readonly epsilon: number;
}
export type HarmonisationCheckResultMetrics = Omit<SiteIntensityReport, 'privacy'> & {
  readonly privacy: { readonly mechanism: typeof RELEASE_MECHANISM; readonly epsilon: number; readonly sensitivity: number; readonly scale: number };
};

/** The one mechanism sites release histograms under: exact discrete Laplace noise on integer counts. */
export const RELEASE_MECHANISM = 'discrete-laplace';

/**
 * `finetune` (one variant of the blocks × data-fraction sweep): take `dataFraction` of the site's
 * training cases (a seeded choice by case with `config.seed`, at least one case), train from
 * `initialModel` with only the blocks `freeze` leaves trainable (null: every block trains; with
 * `initialModel` null this is the scratch baseline), then score the result on the site's test split.
 * Only metrics leave the site. Result: no `modelHash`, `numExamples` = training cases used (≥ 1),
 * `metrics` = {@link FinetuneResultMetrics}.
 */
export interface FinetuneTaskPayload {
  readonly architecture: string;
  readonly initialModel: string | null;
  readonly freeze: FreezeOptions | null;
  readonly dataFraction: number;
  readonly config: TrainingHyperparameters;
  readonly evaluation: EvaluationRequest;
}
export interface FinetuneResultMetrics {
  /** Training cases used; equals `numExamples`. */
  readonly trainCases: number;
  readonly dice: StructureSummaries;
}

export interface TaskPayloads {
  readonly train: TrainTaskPayload;
  readonly evaluate: EvaluateTaskPayload;
  readonly 'harmonisation-check': HarmonisationCheckTaskPayload;
  readonly finetune: FinetuneTaskPayload;
}

export interface TaskResultMetrics {
  readonly train: TrainResultMetrics;
  readonly evaluate: EvaluateResultMetrics;
  readonly 'harmonisation-check': HarmonisationCheckResultMetrics;
  readonly finetune: FinetuneResultMetrics;
}
