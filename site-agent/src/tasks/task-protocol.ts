import type { NamedTensor } from '@lgefed/shared/model/weights';
import type { UNetSpec } from '@lgefed/shared/model/spec';
import type { FreezeOptions } from '@lgefed/shared/model/freeze';
import type { CaseScores } from '@lgefed/shared/metrics/evaluate';
import type { Layout } from '@lgefed/shared/imaging/layouts';
import type { ReferenceIntensityProfile } from '@lgefed/shared/harmonise/index';
import type { SiteHistogramRelease } from '../privacy/histogram-release.js';
import type { TestTimePasses } from '@lgefed/shared/model/test-time-scales';
import type { TrainingSettings } from '../assignment.js';

/** Messages between the agent and a task worker thread; images never leave the worker. */
export interface DatasetInput {
  readonly datasetPath: string;
  readonly layout: Layout | 'auto';
  readonly maxDecodedBytes?: number;
  readonly backend?: string;
}

interface TaskInputBase extends DatasetInput {
  readonly caseIds: readonly string[];
  readonly spec: UNetSpec;
}

export interface TrainInput extends TaskInputBase {
  readonly kind: 'train';
  readonly initialWeights?: NamedTensor[];
  readonly training: TrainingSettings;
}

export interface EvaluateInput extends TaskInputBase {
  readonly kind: 'evaluate';
  readonly weights: NamedTensor[];
  readonly inference: TestTimePasses;
}

/** Fine-tune on (a fraction of) `caseIds`, the training split, then score on `testCaseIds`. */
export interface FinetuneInput extends TaskInputBase {
  readonly kind: 'finetune';
  /** Absent: the scratch baseline. */
  readonly initialWeights?: NamedTensor[];
  readonly training: TrainingSettings;
  readonly freeze: FreezeOptions | null;
  readonly testCaseIds: readonly string[];
  readonly inference: TestTimePasses;
}

/** Profiles every image of the dataset against the reference. */
export interface HarmonisationInput extends DatasetInput {
  readonly kind: 'harmonisation-check';
  readonly reference: ReferenceIntensityProfile;
  /** As charged to the privacy ledger (whole millionths). */
  readonly epsilon: number;
}

export type TaskInput = TrainInput | EvaluateInput | FinetuneInput | HarmonisationInput;

interface Durations {
  readonly dataLoadS: number;
  readonly computeS: number;
}

export interface TrainOutput extends Durations {
  readonly kind: 'train';
  readonly weights: NamedTensor[];
  /** Mean loss per epoch (per iteration when training ran by iterations). */
  readonly epochLosses: number[];
  readonly casesUsed: number;
}

/** Per-case scores under a site-local pseudonym (the index in the test split), never the case id. */
export type ScoredCases = readonly { readonly ref: string; readonly scores: CaseScores }[];

export interface EvaluateOutput extends Durations {
  readonly kind: 'evaluate';
  readonly cases: ScoredCases;
}

/** Only scores and counts: the fine-tuned weights never leave the worker. */
export interface FinetuneOutput extends Durations {
  readonly kind: 'finetune';
  readonly casesUsed: number;
  readonly trainedBlocks: string[];
  readonly epochLosses: number[];
  readonly cases: ScoredCases;
}

export interface HarmonisationOutput extends Durations {
  readonly kind: 'harmonisation-check';
  readonly report: SiteHistogramRelease;
  readonly imagesProfiled: number;
}

export type TaskOutput = TrainOutput | EvaluateOutput | FinetuneOutput | HarmonisationOutput;

/** The output type of each input kind. */
export type OutputOf<I extends TaskInput> = Extract<TaskOutput, { kind: I['kind'] }>;

export type FromTaskWorker =
  | { readonly type: 'progress'; readonly stage: string; readonly fraction: number; readonly epoch: number; readonly loss: number }
  /** A line for the site's own log (never sent to the coordinator). */
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'done'; readonly output: TaskOutput }
  | { readonly type: 'error'; readonly name: string; readonly message: string };
