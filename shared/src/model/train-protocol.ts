/** Messages between `trainModel` and its worker thread: plain data, typed arrays transferred. */
import type { BackendRequest, EngineBackend } from '../engine/index.js';
import type { Batch } from './batches.js';
import type { TrainingState } from './checkpoint.js';
import type { EarlyStopping, EarlyStoppingOutcome } from './early-stopping.js';
import type { FreezeOptions } from './freeze.js';
import type { LearningRateSchedule } from './lr-schedule.js';
import type { UNetSpec } from './spec.js';
import type { NamedTensor } from './weights.js';

export interface TrainingProgress {
  /** Iterations completed so far (1-based count, of the whole run when resumed). */
  readonly iteration: number;
  readonly iterations: number;
  /** Loss of the batch just trained on. */
  readonly loss: number;
  readonly slicesPerSecond: number;
  readonly etaSeconds: number;
  /** Held-out loss, when early stopping checked after this iteration. */
  readonly heldOutLoss?: number;
}

export interface WorkerTrainOptions {
  readonly spec: UNetSpec;
  /** Starting weights; absent means fresh He initialisation from `seed`. */
  readonly initialWeights?: NamedTensor[];
  /** Planned iterations of the whole run (a resumed run included). */
  readonly iterations: number;
  /** Continue a run from a checkpoint's state: its iteration and Adam's moments. */
  readonly resume?: TrainingState;
  readonly learningRate: number;
  /** How the rate changes over the planned iterations; absent = constant. */
  readonly learningRateSchedule?: LearningRateSchedule;
  readonly seed: number;
  readonly freeze?: FreezeOptions;
  /** FedProx μ (see TrainerOptions.proximalMu). */
  readonly proximalMu?: number;
  readonly checkpointEvery?: number;
  readonly checkpointDir?: string;
  /** Post the weights every this many iterations (learning curves scored outside the worker). */
  readonly snapshotEvery?: number;
  readonly earlyStopping?: EarlyStopping;
  /** Forced engine backend; absent = LGEFED_BACKEND or automatic choice. */
  readonly backend?: BackendRequest;
  /** wasm compute threads; absent = the engine's default. */
  readonly threads?: number;
  /** Shared word the worker keeps the running kernel's index in (engine/kernel-tracker.ts). */
  readonly kernelSlot?: Int32Array;
}

export type ToWorker =
  | { readonly type: 'start'; readonly options: WorkerTrainOptions }
  | { readonly type: 'batch'; readonly iteration: number; readonly batch: Batch }
  | { readonly type: 'batch-failed'; readonly iteration: number; readonly message: string }
  | { readonly type: 'cancel' };

export type FromWorker =
  | { readonly type: 'engine'; readonly backend: EngineBackend; readonly threads: number }
  | { readonly type: 'kernels'; readonly names: string[] }
  | { readonly type: 'need-batch'; readonly iteration: number }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'progress'; readonly progress: TrainingProgress }
  | { readonly type: 'checkpoint'; readonly iteration: number; readonly directory: string; readonly modelId: string }
  | { readonly type: 'snapshot'; readonly iteration: number; readonly weights: NamedTensor[] }
  | { readonly type: 'done'; readonly weights: NamedTensor[]; readonly losses: number[]; readonly backend: EngineBackend; readonly cancelledAt?: number; readonly earlyStopping?: EarlyStoppingOutcome }
  | { readonly type: 'error'; readonly name: string; readonly message: string };
