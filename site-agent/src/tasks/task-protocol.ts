import type { NamedTensor } from '@lgefed/shared/model/weights';
import type { UNetSpec } from '@lgefed/shared/model/spec';
import type { CaseScores } from '@lgefed/shared/metrics/evaluate';
import type { Layout } from '@lgefed/shared/imaging/layouts';

/** Messages between the agent and a task worker thread; images never leave the worker. */
interface TaskInputBase {
  readonly datasetPath: string;
  readonly layout: Layout | 'auto';
  readonly caseIds: readonly string[];
  readonly spec: UNetSpec;
  readonly backend?: string;
}

export interface TrainInput extends TaskInputBase {
  readonly kind: 'train';
  readonly initialWeights?: NamedTensor[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  /** Fraction of the training cases to use (a seeded choice by case); 1 = all. */
  readonly dataFraction: number;
}

export interface EvaluateInput extends TaskInputBase {
  readonly kind: 'evaluate';
  readonly weights: NamedTensor[];
}

export type TaskInput = TrainInput | EvaluateInput;

export interface TrainOutput {
  readonly kind: 'train';
  readonly weights: NamedTensor[];
  /** Mean loss per epoch. */
  readonly epochLosses: number[];
  readonly casesUsed: number;
  readonly dataLoadS: number;
  readonly computeS: number;
}

export interface EvaluateOutput {
  readonly kind: 'evaluate';
  /** Per-case scores under a site-local pseudonym (the index in the test split), never the case id. */
  readonly cases: { readonly ref: string; readonly scores: CaseScores }[];
  readonly dataLoadS: number;
  readonly computeS: number;
}

export type FromTaskWorker =
  | { readonly type: 'progress'; readonly stage: string; readonly fraction: number; readonly epoch: number; readonly loss: number }
  | { readonly type: 'done'; readonly output: TrainOutput | EvaluateOutput }
  | { readonly type: 'error'; readonly name: string; readonly message: string };
