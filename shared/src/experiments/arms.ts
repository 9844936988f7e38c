/**
 * The per-site computations every experiment is made of, as reusable functions with explicit seeds
 * (the federated jobs will run the same ones at the sites): train a model on some cases, and score
 * a model on a site's test cases, optionally through an image harmonisation transform.
 */
import type { FreezeOptions } from '../model/freeze.js';
import type { UNetSpec } from '../model/spec.js';
import type { TrainingProgress } from '../model/train.js';
import type { NamedTensor } from '../model/weights.js';
import { STRUCTURES, type Case, type Structure } from '../types.js';
import { evaluateModel, type CaseEvaluation, type ImageTransform } from '../workflows/evaluate.js';
import type { LoadedModel } from '../workflows/model-files.js';
import type { MeanSd } from '../workflows/summary.js';
import { selectCases } from '../workflows/split.js';
import { trainSegmentation } from '../workflows/train.js';
import type { TrainingSettings } from './config.js';

export interface ComputeOptions {
  /** Engine backend request for the workers (default: LGEFED_BACKEND or auto). */
  readonly backend?: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  readonly signal?: AbortSignal;
  readonly onTraining?: (progress: TrainingProgress) => void;
  readonly onCase?: (done: number, total: number) => void;
  /** Test-time mirroring when scoring (default false). */
  readonly mirror?: boolean;
  /** Test-time scale averaging when scoring (default [1]). */
  readonly scales?: readonly number[];
}

export interface TrainArm {
  readonly spec: UNetSpec;
  readonly cases: readonly Case[];
  readonly training: TrainingSettings;
  /** Overrides training.augmentation (the augmentation experiment's factor). */
  readonly augmentation?: string;
  readonly iterations?: number;
  /** Fine-tuning: start here instead of He initialisation, training only the unfrozen blocks. */
  readonly initial?: LoadedModel;
  readonly freeze?: FreezeOptions;
  /** Early stopping on these held-apart cases (a validation split), checked every `every` iterations. */
  readonly validation?: { readonly cases: readonly Case[]; readonly every: number; readonly patience: number };
}

/**
 * The study recipe's split of an arm's cases: a seeded share kept apart for validation; the best
 * epoch on it is kept (patience as long as the run, so the whole schedule trains).
 */
function recipeValidation(arm: TrainArm): { cases: readonly Case[]; validation: TrainArm['validation'] } {
  const { validationFraction, epochs } = arm.training;
  if (arm.validation || validationFraction === undefined || epochs === undefined || arm.cases.length < 2) return { cases: arm.cases, validation: arm.validation };
  const held = selectCases(arm.cases, { count: Math.max(1, Math.round(validationFraction * arm.cases.length)) }, arm.training.seed);
  const ids = new Set(held.map((c) => c.id));
  const cases = arm.cases.filter((c) => !ids.has(c.id));
  return { cases, validation: { cases: held, every: iterationsPerEpoch(cases, arm.training.batchSize), patience: epochs } };
}

/** Batches in one pass over the cases' slices. */
export function iterationsPerEpoch(cases: readonly Case[], batchSize: number): number {
  return Math.max(1, Math.ceil(cases.reduce((n, c) => n + c.image.dims[2], 0) / batchSize));
}

/** Trains one arm; the result is a model as evaluation reads it (spec, weights, id, training record). */
export async function trainArm(requested: TrainArm, options: ComputeOptions = {}): Promise<LoadedModel> {
  const { cases, validation } = recipeValidation(requested);
  const arm: TrainArm = { ...requested, cases, ...(validation ? { validation } : {}) };
  const epochs = arm.training.epochs;
  const result = await trainSegmentation({
    spec: arm.spec,
    cases: arm.cases,
    spacing: arm.training.spacing,
    augmentation: arm.augmentation ?? arm.training.augmentation,
    batchSize: arm.training.batchSize,
    iterations: arm.iterations ?? (epochs !== undefined ? epochs * iterationsPerEpoch(arm.cases, arm.training.batchSize) : arm.training.iterations),
    learningRate: arm.training.learningRate,
    seed: arm.training.seed,
    ...(arm.initial ? { initialWeights: arm.initial.weights, startedFrom: arm.initial.id } : {}),
    ...(arm.freeze ? { freeze: arm.freeze } : {}),
    ...(arm.validation && arm.validation.cases.length > 0 ? { earlyStopping: { validationCases: arm.validation.cases, every: arm.validation.every, patience: arm.validation.patience } } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onTraining ? { onProgress: options.onTraining } : {}),
    onLog: () => undefined,
  });
  return { spec: result.spec, weights: result.weights as NamedTensor[], id: result.modelId, training: result.record };
}

export interface SiteScores {
  readonly cases: CaseEvaluation[];
  readonly dice: Record<Structure, MeanSd>;
}

/** Scores a model on test cases (3D Dice per structure, after largest-component post-processing). */
export async function scoreArm(model: LoadedModel, cases: readonly Case[], transform: ImageTransform | undefined, options: ComputeOptions = {}): Promise<SiteScores> {
  const report = await evaluateModel({
    model,
    cases,
    ...(transform ? { transform } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.mirror ? { mirror: true } : {}),
    ...(options.scales ? { scales: options.scales } : {}),
    onLog: () => undefined,
    ...(options.onCase ? { onCase: (_r, done, total) => options.onCase!(done, total) } : {}),
  });
  return { cases: report.cases, dice: report.summary.dice };
}

/** One bar or point of a figure: a Dice mean ± sd for a structure under named factors. */
export interface DiceRow {
  readonly [factor: string]: string | number;
  readonly structure: Structure;
  readonly testSite: string;
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
}

export function diceRows(factors: Record<string, string | number>, testSite: string, scores: SiteScores): DiceRow[] {
  return STRUCTURES.map((structure) => ({ ...factors, testSite, structure, mean: scores.dice[structure].mean, sd: scores.dice[structure].sd, n: scores.dice[structure].n }));
}
