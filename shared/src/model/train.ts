/**
 * `trainModel`: trains a U-Net in a worker thread so the caller's event loop stays free. Batches
 * come from the caller's side (slices, or any BatchProvider such as an augmenting one), one
 * iteration ahead; progress, checkpoints and cancellation travel as messages.
 */
import { Worker } from 'node:worker_threads';
import type { BackendRequest, EngineBackend } from '../engine/index.js';
import { DEFAULT_STALL_SECONDS, endWorker, StallWatchdog, stalledAt, stalledOnThreads, type StartedEngine } from '../engine/stall-watchdog.js';
import type { Slice } from '../types.js';
import { checkBatch, sliceBatches, type Batch, type BatchProvider } from './batches.js';
import { loadCheckpoint, type TrainingState } from './checkpoint.js';
import { checkEarlyStopping, type EarlyStopping, type EarlyStoppingOutcome } from './early-stopping.js';
import type { FreezeOptions } from './freeze.js';
import type { LearningRateSchedule } from './lr-schedule.js';
import { modelId } from './io.js';
import type { UNetSpec } from './spec.js';
import type { FromWorker, ToWorker, TrainingProgress } from './train-protocol.js';
import { checkWeights, cloneWeights, type NamedTensor } from './weights.js';

export type { TrainingProgress } from './train-protocol.js';

export interface TrainModelOptions {
  readonly spec: UNetSpec;
  /** Weights to start from (fine-tuning); absent means He initialisation from `seed`. */
  readonly initialWeights?: readonly NamedTensor[];
  /** Preprocessed slices of the model's input size, or a provider of ready batches. */
  readonly data: readonly Slice[] | BatchProvider;
  /** Slices per batch when `data` is slices (default 8). */
  readonly batchSize?: number;
  /** Give exactly one of epochs (needs data with a notion of epoch) and iterations: the whole run's. */
  readonly epochs?: number;
  readonly iterations?: number;
  /**
   * Continue a run from a checkpoint (loadCheckpoint): its weights as `initialWeights`, and here
   * its iteration and optimiser state; batches are asked for from that iteration on.
   */
  readonly resume?: TrainingState;
  /** Adam learning rate (default 1e-3, as in the study). */
  readonly learningRate?: number;
  /** constant (default) or poly decay over the planned iterations (nnU-Net's). */
  readonly learningRateSchedule?: LearningRateSchedule;
  /** Seeds initialisation and slice shuffling (default 0). */
  readonly seed?: number;
  readonly freeze?: FreezeOptions;
  /** FedProx μ: pulls the weights towards `initialWeights` (the global model) during local training; 0 or absent = off. */
  readonly proximalMu?: number;
  readonly onProgress?: (progress: TrainingProgress) => void;
  readonly onCheckpoint?: (checkpoint: { iteration: number; directory: string; modelId: string }) => void;
  /** Receives the weights after every `snapshotEvery` iterations (learning curves). */
  readonly onSnapshot?: (iteration: number, weights: NamedTensor[]) => void;
  readonly snapshotEvery?: number;
  readonly signal?: AbortSignal;
  /** Write `<checkpointDir>/latest` every this many iterations. */
  readonly checkpointEvery?: number;
  readonly checkpointDir?: string;
  /** Stop when held-out slices stop improving, returning the best weights (see early-stopping.ts). */
  readonly earlyStopping?: EarlyStopping;
  /** Engine backend for the worker; absent = LGEFED_BACKEND or the automatic choice (see initEngine). */
  readonly backend?: BackendRequest;
  /** wasm compute threads in the worker; absent = the engine's default. */
  readonly threads?: number;
  /** The engine's line saying which backend it chose and why; default stderr. */
  readonly onLog?: (line: string) => void;
  /**
   * After the first iteration, declare the run stalled after this many seconds without a word from
   * the worker (default 300), or 20 median iterations when that is longer: a stuck engine ends in a
   * TrainingStalledError instead of an endless wait. Before the first iteration the allowance is
   * FIRST_STEP_FACTOR times this.
   */
  readonly stallSeconds?: number;
  /**
   * When the engine stalls on several wasm threads (the known two-thread hang, README), run again
   * on one thread, from the last checkpoint this run wrote or else from the start, instead of
   * failing (default true). A stalled batch provider is never retried.
   */
  readonly retryStalledOnOneThread?: boolean;
}

/** A run that stalled on several wasm threads and went on, on one, from `resumedAt`. */
export interface StallRestart {
  /** Iterations done when the stall was declared. */
  readonly iteration: number;
  readonly silentSeconds: number;
  readonly kernel: string | undefined;
  /** wasm threads of the attempt that stalled. */
  readonly threads: number;
  readonly resumedAt: number;
}

export interface TrainModelResult {
  readonly weights: NamedTensor[];
  readonly modelId: string;
  /** Loss per iteration. */
  readonly losses: number[];
  readonly iterations: number;
  readonly seconds: number;
  readonly backend: EngineBackend;
  /** The held-out checks and which iteration's weights were kept, when early stopping was on. */
  readonly earlyStopping?: EarlyStoppingOutcome;
  /** Present when the engine stalled and the run went on on one thread (`retryStalledOnOneThread`). */
  readonly stallRestart?: StallRestart;
}

export class TrainingOptionsError extends Error {
  override readonly name = 'TrainingOptionsError';
}

/** Rejection of a cancelled run; it still carries the weights reached, which callers may keep. */
export class TrainingCancelledError extends Error {
  override readonly name = 'TrainingCancelledError';
  constructor(
    readonly iteration: number,
    readonly weights: NamedTensor[],
  ) {
    super(`training cancelled after ${iteration} iteration(s)`);
  }
}

/** A training failure reported from the worker, with the worker's error name. */
export class TrainingError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

/** No word from the training worker for too long: it names the kernel the engine is stuck in, if any. */
export class TrainingStalledError extends Error {
  override readonly name = 'TrainingStalledError';
  constructor(
    /** Iterations completed before the stall. */
    readonly iteration: number,
    readonly silentSeconds: number,
    /** The engine kernel running when the stall was declared. */
    readonly kernel: string | undefined,
    /** The iteration whose batch the worker was still waiting for, when the batch provider is the one behind. */
    readonly awaitedBatch: number | undefined,
  ) {
    const where = kernel === undefined && awaitedBatch !== undefined ? `the batch provider has not delivered the batch of iteration ${awaitedBatch}` : stalledAt(kernel);
    super(`training stalled: no word from the training worker for ${Math.round(silentSeconds)} s after ${iteration} iteration(s); ${where}`);
  }
}

function positiveInteger(value: number | undefined, field: string): number | undefined {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new TrainingOptionsError(`${field} must be a positive integer, got ${value}`);
  return value;
}

function iterationCount(options: TrainModelOptions, provider: BatchProvider): number {
  const epochs = positiveInteger(options.epochs, 'epochs');
  const iterations = positiveInteger(options.iterations, 'iterations');
  if ((epochs === undefined) === (iterations === undefined)) throw new TrainingOptionsError('give exactly one of epochs and iterations');
  if (iterations !== undefined) return iterations;
  if (provider.iterationsPerEpoch === undefined) throw new TrainingOptionsError('this batch provider has no epochs; give iterations');
  return epochs! * provider.iterationsPerEpoch;
}

/** The array itself when it owns its whole buffer (safe to transfer), else a copy. */
function ownedArray<T extends Float32Array | Uint8Array>(array: T): T {
  return array.byteOffset === 0 && array.byteLength === array.buffer.byteLength ? array : (array.slice() as T);
}

export async function trainModel(options: TrainModelOptions): Promise<TrainModelResult> {
  const seed = options.seed ?? 0;
  const learningRate = options.learningRate ?? 1e-3;
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new TrainingOptionsError(`learningRate must be positive, got ${learningRate}`);
  const mu = options.proximalMu ?? 0;
  if (!(mu >= 0) || !Number.isFinite(mu)) throw new TrainingOptionsError(`proximalMu must be a finite number ≥ 0, got ${options.proximalMu}`);
  positiveInteger(options.checkpointEvery, 'checkpointEvery');
  if ((options.checkpointEvery === undefined) !== (options.checkpointDir === undefined)) {
    throw new TrainingOptionsError('checkpointEvery and checkpointDir go together');
  }
  positiveInteger(options.snapshotEvery, 'snapshotEvery');
  if ((options.snapshotEvery === undefined) !== (options.onSnapshot === undefined)) throw new TrainingOptionsError('snapshotEvery and onSnapshot go together');
  const provider = Array.isArray(options.data)
    ? sliceBatches(options.data as readonly Slice[], positiveInteger(options.batchSize, 'batchSize') ?? 8, seed)
    : (options.data as BatchProvider);
  const iterations = iterationCount(options, provider);
  if (options.resume && !(Number.isInteger(options.resume.iteration) && options.resume.iteration >= 0 && options.resume.iteration < iterations)) {
    throw new TrainingOptionsError(`resume at iteration ${options.resume.iteration} is outside the planned ${iterations}`);
  }
  if (options.earlyStopping) {
    checkEarlyStopping(options.earlyStopping);
    checkBatch(options.earlyStopping.heldOut, options.spec.inputSize, options.spec.inChannels, options.spec.classes);
  }
  if (options.resume && !options.initialWeights) throw new TrainingOptionsError("resuming needs the checkpoint's weights as initialWeights");
  // Copies: the worker owns what it is sent, and the caller's arrays stay valid.
  const initialWeights = options.initialWeights && cloneWeights(checkWeights(options.spec, options.initialWeights));
  options.signal?.throwIfAborted();

  const stallSeconds = options.stallSeconds ?? DEFAULT_STALL_SECONDS;
  if (!(stallSeconds > 0)) throw new TrainingOptionsError(`stallSeconds must be positive, got ${options.stallSeconds}`);
  const started = performance.now();
  const log = options.onLog ?? ((line: string) => process.stderr.write(`${line}\n`));
  const first = await runAttempt(options, { iterations, learningRate, seed, stallSeconds, log, provider, initialWeights, resume: options.resume, threads: options.threads, snapshotsAfter: 0 });
  let done: AttemptDone;
  let stallRestart: StallRestart | undefined;
  if (first.kind === 'done') done = first;
  else {
    const { stalled, engine } = first;
    // The engine hung (not the caller's batch provider) on several wasm threads.
    const threads = stalledOnThreads(engine, options.threads);
    if (stalled.awaitedBatch !== undefined || threads < 2 || options.retryStalledOnOneThread === false) throw stalled;
    const checkpoint = first.checkpoint && !options.earlyStopping ? await loadCheckpoint(first.checkpoint) : undefined;
    const resumedAt = checkpoint?.state.iteration ?? options.resume?.iteration ?? 0;
    log(`lgefed training: ${stalled.message}; starting again from iteration ${resumedAt}${checkpoint ? ' (its checkpoint)' : ''} on one wasm thread`);
    const second = await runAttempt(options, {
      iterations,
      learningRate,
      seed,
      stallSeconds,
      log,
      provider,
      // The first attempt's copy went to its worker: copy the caller's again.
      initialWeights: checkpoint?.model.weights ?? (options.initialWeights && cloneWeights(options.initialWeights)),
      resume: checkpoint?.state ?? options.resume,
      threads: 1,
      snapshotsAfter: first.lastSnapshot,
    });
    if (second.kind === 'stalled') throw second.stalled;
    // Losses of the iterations the checkpoint holds come from the first attempt.
    const kept = first.losses.slice(0, resumedAt - (options.resume?.iteration ?? 0));
    done = { ...second, message: { ...second.message, losses: [...kept, ...second.message.losses] } };
    stallRestart = { iteration: stalled.iteration, silentSeconds: stalled.silentSeconds, kernel: stalled.kernel, threads, resumedAt };
  }
  const { message } = done;
  if (message.cancelledAt !== undefined) throw new TrainingCancelledError(message.cancelledAt, message.weights);
  return {
    weights: message.weights,
    modelId: modelId(options.spec, message.weights),
    losses: message.losses,
    iterations: message.losses.length,
    seconds: (performance.now() - started) / 1000,
    backend: message.backend,
    ...(message.earlyStopping ? { earlyStopping: message.earlyStopping } : {}),
    ...(stallRestart ? { stallRestart } : {}),
  };
}

/** What one worker run is given: the run's settings, and where this attempt starts. */
interface AttemptSettings {
  readonly iterations: number;
  readonly learningRate: number;
  readonly seed: number;
  readonly stallSeconds: number;
  readonly log: (line: string) => void;
  readonly provider: BatchProvider;
  /** Sent to the worker, which owns them from then on. */
  readonly initialWeights: NamedTensor[] | undefined;
  readonly resume: TrainingState | undefined;
  readonly threads: number | undefined;
  /** Snapshots up to this iteration were delivered by an earlier attempt. */
  readonly snapshotsAfter: number;
}

type DoneMessage = Extract<FromWorker, { type: 'done' }>;
interface AttemptDone {
  readonly kind: 'done';
  readonly message: DoneMessage;
}
interface AttemptStalled {
  readonly kind: 'stalled';
  readonly stalled: TrainingStalledError;
  /** The engine the worker started, if it got that far. */
  readonly engine: StartedEngine | undefined;
  /** The last checkpoint this attempt wrote. */
  readonly checkpoint: string | undefined;
  /** Losses of the iterations this attempt finished, in order. */
  readonly losses: number[];
  readonly lastSnapshot: number;
}

/** One training worker, from start to its final message or a stall; other failures reject. */
async function runAttempt(options: TrainModelOptions, settings: AttemptSettings): Promise<AttemptDone | AttemptStalled> {
  const { provider, initialWeights, resume } = settings;
  const worker = new Worker(new URL('./train-worker.js', import.meta.url));
  const send = (message: ToWorker, transfer: ArrayBuffer[] = []): void => worker.postMessage(message, transfer);
  let stalledWorker = false;
  try {
    return await new Promise<AttemptDone | AttemptStalled>((resolve, reject) => {
      const onAbort = (): void => send({ type: 'cancel' });
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let iterationsDone = resume?.iteration ?? 0;
      let awaitedBatch: number | undefined;
      let engine: AttemptStalled['engine'];
      let checkpoint: string | undefined;
      let lastSnapshot = settings.snapshotsAfter;
      const losses: number[] = [];
      const stalls = new StallWatchdog({
        minimumSeconds: settings.stallSeconds,
        onStall: ({ silentSeconds, kernel }) => {
          stalledWorker = true;
          const stalled = new TrainingStalledError(iterationsDone, silentSeconds, kernel, awaitedBatch);
          finish(() => resolve({ kind: 'stalled', stalled, engine, checkpoint, losses, lastSnapshot }));
        },
      });
      const finish = (settle: () => void): void => {
        stalls.stop();
        options.signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const supply = async (iteration: number): Promise<void> => {
        let batch: Batch;
        try {
          batch = await provider.batch(iteration);
        } catch (error) {
          send({ type: 'batch-failed', iteration, message: (error as Error).message });
          return;
        }
        const owned = { ...batch, images: ownedArray(batch.images), labels: ownedArray(batch.labels) };
        if (awaitedBatch === iteration) awaitedBatch = undefined;
        send({ type: 'batch', iteration, batch: owned }, [owned.images.buffer as ArrayBuffer, owned.labels.buffer as ArrayBuffer]);
      };
      worker.on('message', (message: FromWorker) => {
        stalls.heard();
        switch (message.type) {
          case 'engine':
            engine = { backend: message.backend, threads: message.threads };
            break;
          case 'kernels':
            stalls.kernels(message.names);
            break;
          case 'need-batch':
            awaitedBatch = message.iteration;
            void supply(message.iteration);
            break;
          case 'log':
            settings.log(message.line);
            break;
          case 'progress':
            stalls.stepped();
            iterationsDone = message.progress.iteration;
            losses.push(message.progress.loss);
            options.onProgress?.(message.progress);
            break;
          case 'checkpoint':
            checkpoint = message.directory;
            options.onCheckpoint?.({ iteration: message.iteration, directory: message.directory, modelId: message.modelId });
            break;
          case 'snapshot':
            if (message.iteration <= lastSnapshot) break;
            lastSnapshot = message.iteration;
            options.onSnapshot?.(message.iteration, message.weights);
            break;
          case 'done':
            finish(() => resolve({ kind: 'done', message }));
            break;
          case 'error':
            finish(() => reject(new TrainingError(message.name, message.message)));
            break;
        }
      });
      worker.on('error', (error) => finish(() => reject(error)));
      worker.on('exit', (code) => finish(() => reject(new TrainingError('TrainingError', `training worker exited with code ${code}`))));
      send(
        {
          type: 'start',
          options: {
            spec: options.spec,
            ...(initialWeights ? { initialWeights } : {}),
            iterations: settings.iterations,
            ...(resume ? { resume } : {}),
            learningRate: settings.learningRate,
            ...(options.learningRateSchedule ? { learningRateSchedule: options.learningRateSchedule } : {}),
            seed: settings.seed,
            ...(options.freeze ? { freeze: options.freeze } : {}),
            ...(options.proximalMu ? { proximalMu: options.proximalMu } : {}),
            ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery, checkpointDir: options.checkpointDir! } : {}),
            ...(options.snapshotEvery ? { snapshotEvery: options.snapshotEvery } : {}),
            ...(options.earlyStopping ? { earlyStopping: options.earlyStopping } : {}),
            ...(options.backend ? { backend: options.backend } : {}),
            ...(settings.threads ? { threads: settings.threads } : {}),
            kernelSlot: stalls.slot,
          },
        },
        // A checkpoint's tensors share one buffer: transfer each buffer once.
        [...new Set(initialWeights?.map((t) => t.data.buffer as ArrayBuffer))],
      );
    });
  } finally {
    await endWorker(worker, stalledWorker);
  }
}
