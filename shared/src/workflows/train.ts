/**
 * The one training path (CLI, experiment runner, site agent): cases → whole-slice samples (windows drawn by the augmenter) →
 * seeded augmentation prefetched in a worker → trainModel (its own worker) → optional save with a
 * training record. Fine-tuning is this with starting weights and frozen blocks (see finetune.ts).
 */
import { asTrainerBatchProvider } from '../augment/trainer-adapter.js';
import { createPrefetchingBatchProvider } from '../augment/prefetch.js';
import { presetByName } from '../augment/presets.js';
import type { BackendRequest } from '../engine/index.js';
import type { EarlyStoppingOutcome } from '../model/early-stopping.js';
import type { FreezeOptions } from '../model/freeze.js';
import type { TrainingState } from '../model/checkpoint.js';
import type { LearningRateSchedule } from '../model/lr-schedule.js';
import { modelId, type StorageDType } from '../model/io.js';
import type { UNetSpec } from '../model/spec.js';
import { TrainingCancelledError, trainModel, type StallRestart, type TrainingProgress } from '../model/train.js';
import type { NamedTensor } from '../model/weights.js';
import type { Case } from '../types.js';
import { WorkflowError } from './errors.js';
import { saveModelDirectory, type TrainingRecord } from './model-files.js';
import { holdOutSlices, validationSlices } from './held-out.js';
import { trainingSamples } from './samples.js';

/** EMIDEC PNG slices carry no spacing; the data README gives 1.37-1.88 mm, and our loader assumes 1.5 mm. */
export const DEFAULT_SPACING: readonly [number, number] = [1.5, 1.5];

export interface TrainSegmentationOptions {
  readonly spec: UNetSpec;
  /** Annotated cases to train on (already selected: see splitCases / selectCases). */
  readonly cases: readonly Case[];
  /** In-plane spacing the model works at (default DEFAULT_SPACING). */
  readonly spacing?: readonly [number, number];
  /** Augmentation preset name: none, spatial, paper, nnunet (default paper). */
  readonly augmentation?: string;
  readonly batchSize?: number;
  /** Give exactly one of epochs and iterations. */
  readonly epochs?: number;
  readonly iterations?: number;
  readonly learningRate?: number;
  /** constant (default) or poly decay over the planned iterations. */
  readonly learningRateSchedule?: LearningRateSchedule;
  readonly seed?: number;
  /** Starting weights (fine-tuning, or a checkpoint's when resuming); absent = He initialisation. */
  readonly initialWeights?: readonly NamedTensor[];
  /** Continue the planned run from a checkpoint's iteration and optimiser state (see loadCheckpoint). */
  readonly resume?: TrainingState;
  /** Model id of `initialWeights`, kept in the training record. */
  readonly startedFrom?: string;
  readonly freeze?: FreezeOptions;
  /** FedProx proximal term μ (0 or absent: plain training), pulling weights towards `initialWeights`. */
  readonly proximalMu?: number;
  /**
   * Hold out a seeded share of the slices showing the heart and stop when their loss has not
   * improved for `patience` checks, `every` iterations apart; the best checked weights are kept.
   */
  readonly earlyStopping?: EarlyStoppingSettings;
  /** Stop after this long and keep the weights reached (the record says how far it got). */
  readonly maxSeconds?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: TrainingProgress) => void;
  readonly checkpointEvery?: number;
  readonly checkpointDir?: string;
  /** Weights every this many iterations, for learning curves (see TrainModelOptions.onSnapshot). */
  readonly snapshotEvery?: number;
  readonly onSnapshot?: (iteration: number, weights: NamedTensor[]) => void;
  readonly backend?: BackendRequest;
  readonly threads?: number;
  /** See TrainModelOptions.stallSeconds (default 300). */
  readonly stallSeconds?: number;
  readonly onLog?: (line: string) => void;
  /** Where to save the model directory; absent = not saved. */
  readonly outDir?: string;
  readonly dtype?: StorageDType;
  readonly notes?: Record<string, unknown>;
}

export interface EarlyStoppingSettings {
  /** Default DEFAULT_HELD_OUT_FRACTION. */
  readonly heldOutFraction?: number;
  /** Score these cases (a validation split) instead of holding out training slices; all training slices train. */
  readonly validationCases?: readonly Case[];
  /** Default 10. */
  readonly every?: number;
  /** Default 4. */
  readonly patience?: number;
}

export interface TrainSegmentationResult {
  readonly spec: UNetSpec;
  readonly weights: NamedTensor[];
  /** Id of the weights as saved (float16-rounded when dtype is float16), else of the trained weights. */
  readonly modelId: string;
  readonly record: TrainingRecord;
  readonly losses: number[];
  /** True when maxSeconds ended training before the planned iterations. */
  readonly stoppedByTimeLimit: boolean;
  /** Batches in one pass over the training slices. */
  readonly iterationsPerEpoch: number;
}

export async function trainSegmentation(options: TrainSegmentationOptions): Promise<TrainSegmentationResult> {
  const spacing = options.spacing ?? DEFAULT_SPACING;
  const augmentation = options.augmentation ?? 'paper';
  const seed = options.seed ?? 0;
  const batchSize = options.batchSize ?? 8;
  const learningRate = options.learningRate ?? 1e-3;
  presetByName(augmentation);
  if (options.maxSeconds !== undefined && !(options.maxSeconds > 0)) throw new WorkflowError(`maxSeconds must be positive, got ${options.maxSeconds}`);
  if (options.cases.length === 0) throw new WorkflowError('no training cases');

  const allSamples = trainingSamples(options.cases, { inputSize: options.spec.inputSize, spacing });
  const settings = options.earlyStopping;
  const split = !settings
    ? undefined
    : settings.validationCases
      ? { train: allSamples, heldOut: validationSlices(trainingSamples(settings.validationCases, { inputSize: options.spec.inputSize, spacing }), { seed, inputSize: options.spec.inputSize }) }
      : holdOutSlices(allSamples, { ...(settings.heldOutFraction !== undefined ? { fraction: settings.heldOutFraction } : {}), seed, inputSize: options.spec.inputSize });
  const earlyStopping = split && { heldOut: split.heldOut, every: settings?.every ?? 10, patience: settings?.patience ?? 4 };
  const samples = split?.train ?? allSamples;
  const provider = asTrainerBatchProvider(
    (startIteration) =>
      createPrefetchingBatchProvider(samples, { preset: augmentation, seed, batchSize, outputWidth: options.spec.inputSize, outputHeight: options.spec.inputSize, startIteration }),
    options.resume?.iteration ?? 0,
  );
  // One controller for both the caller's cancellation and our time limit.
  const stop = new AbortController();
  let timeUp = false;
  const timer = options.maxSeconds === undefined ? undefined : setTimeout(() => ((timeUp = true), stop.abort()), options.maxSeconds * 1000);
  const forward = (): void => stop.abort();
  options.signal?.addEventListener('abort', forward, { once: true });
  const started = performance.now();
  // Kept from progress reports: a run stopped by the time limit returns weights but no losses. By
  // iteration: a run that stalls and starts again reports some iterations twice.
  const losses: number[] = [];
  const firstIteration = options.resume?.iteration ?? 0;
  const onProgress = (progress: TrainingProgress): void => {
    losses.length = progress.iteration - firstIteration - 1;
    losses.push(progress.loss);
    options.onProgress?.(progress);
  };
  let engineLine = '';
  const onLog = (line: string): void => {
    engineLine = line;
    options.onLog?.(line);
  };
  let weights: NamedTensor[];
  let iterations: number;
  let backend: string;
  let stopping: EarlyStoppingOutcome | undefined;
  let stallRestart: StallRestart | undefined;
  try {
    try {
      const result = await trainModel({
        spec: options.spec,
        data: provider,
        ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
        ...(options.iterations !== undefined ? { iterations: options.iterations } : {}),
        learningRate,
        ...(options.learningRateSchedule ? { learningRateSchedule: options.learningRateSchedule } : {}),
        seed,
        signal: stop.signal,
        ...(options.initialWeights ? { initialWeights: options.initialWeights } : {}),
        ...(options.resume ? { resume: options.resume } : {}),
        ...(options.freeze ? { freeze: options.freeze } : {}),
        ...(options.proximalMu ? { proximalMu: options.proximalMu } : {}),
        onProgress,
        ...(options.checkpointEvery !== undefined ? { checkpointEvery: options.checkpointEvery } : {}),
        ...(options.checkpointDir !== undefined ? { checkpointDir: options.checkpointDir } : {}),
        ...(options.snapshotEvery !== undefined ? { snapshotEvery: options.snapshotEvery } : {}),
        ...(options.onSnapshot ? { onSnapshot: options.onSnapshot } : {}),
        ...(earlyStopping ? { earlyStopping } : {}),
        ...(options.backend ? { backend: options.backend } : {}),
        ...(options.threads ? { threads: options.threads } : {}),
        ...(options.stallSeconds !== undefined ? { stallSeconds: options.stallSeconds } : {}),
        onLog,
      });
      ({ weights, iterations, backend, earlyStopping: stopping, stallRestart } = result);
    } catch (error) {
      if (!(error instanceof TrainingCancelledError) || !timeUp) throw error;
      weights = error.weights;
      iterations = error.iteration;
      backend = engineLine || (options.backend ?? 'auto');
    }
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', forward);
    await provider.close();
  }
  if (iterations === 0) throw new WorkflowError('the time limit ended training before the first iteration');
  const record: TrainingRecord = {
    spacing: [spacing[0], spacing[1]],
    augmentation,
    iterations,
    batchSize,
    learningRate,
    ...(options.learningRateSchedule ? { learningRateSchedule: options.learningRateSchedule } : {}),
    seed,
    seconds: (performance.now() - started) / 1000,
    backend,
    trainCases: options.cases.map((c) => c.id),
    ...(options.freeze ? { freeze: options.freeze } : {}),
    ...(options.startedFrom ? { startedFrom: options.startedFrom } : {}),
    ...(earlyStopping && stopping ? { earlyStopping: { heldOutSlices: earlyStopping.heldOut.count, every: earlyStopping.every, patience: earlyStopping.patience, ...stopping } } : {}),
    ...(stallRestart ? { stallRestart } : {}),
    ...(options.notes ? { notes: options.notes } : {}),
  };
  const id = options.outDir
    ? await saveModelDirectory(options.outDir, options.spec, weights, { training: record, ...(options.dtype ? { dtype: options.dtype } : {}) })
    : modelId(options.spec, weights);
  return { spec: options.spec, weights, modelId: id, record, losses, stoppedByTimeLimit: timeUp, iterationsPerEpoch: provider.iterationsPerEpoch! };
}
