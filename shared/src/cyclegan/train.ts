/**
 * The CycleGAN API: `trainCycleGan` trains at the site between its own images and a reference
 * cohort, `translateImages` applies a generator at test time. Both run in a worker thread so the
 * caller's event loop stays free.
 */
import { Worker } from 'node:worker_threads';
import { DEFAULT_STALL_SECONDS, endWorker, StallWatchdog, stalledAt, stalledOnThreads, type StartedEngine } from '../engine/stall-watchdog.js';
import { cloneWeights, type NamedTensor } from '../model/weights.js';
import { intensityHistogram } from './distance.js';
import { CycleGanError } from './errors.js';
import { validateGreyImages, type GreyImage } from './patches.js';
import type { CycleGanProgress, CycleGanSchedule, FromWorker, ToWorker, ValidationDistance } from './protocol.js';
import { generatorLayout, pickWeights, validateCycleGanSpec, type CycleGanSpec, type GeneratorName } from './spec.js';

export type { CycleGanProgress, CycleGanSchedule, ValidationDistance } from './protocol.js';

/** Held-out slices of both cohorts: how far the translated site slices are from the reference, as training goes. */
export interface CycleGanValidation {
  readonly siteImages: readonly GreyImage[];
  readonly referenceImages: readonly GreyImage[];
  /** Measured before training, every `every` iterations and after the last. */
  readonly every: number;
}

export interface TrainCycleGanOptions {
  readonly spec: CycleGanSpec;
  /** The site's own preprocessed slices (domain A), intensities in [0, 1]. */
  readonly siteImages: readonly GreyImage[];
  /** The public reference cohort's slices (domain B), likewise. */
  readonly referenceImages: readonly GreyImage[];
  readonly iterations: number;
  /** Patches per domain per step (default 4). */
  readonly batchSize?: number;
  /** Seeds initialisation and patch sampling (default 0). */
  readonly seed?: number;
  /** Default 2e-4 (CycleGAN). */
  readonly learningRate?: number;
  /** Default 10 (CycleGAN). */
  readonly cycleWeight?: number;
  /** Default 5 (CycleGAN: half the cycle weight). */
  readonly identityWeight?: number;
  /** Generated images kept per domain for the discriminators; default 0 (CycleGAN: 50). */
  readonly imagePool?: number;
  /** Default `constant`; `linear` halves the run: constant, then decaying to 0 (CycleGAN). */
  readonly schedule?: CycleGanSchedule;
  readonly validation?: CycleGanValidation;
  /** Engine backend request (auto, wasm, cpu, …); default LGEFED_BACKEND or auto. */
  readonly backend?: string;
  /** wasm compute threads; default the engine's (LGEFED_THREADS, else the cores). */
  readonly threads?: number;
  readonly onProgress?: (progress: CycleGanProgress) => void;
  readonly signal?: AbortSignal;
  /**
   * After the first iteration, end the run with a CycleGanStalledError when its worker has been
   * silent this many seconds (default 300) or 20 median iterations; before it, three times that.
   */
  readonly stallSeconds?: number;
  /**
   * When the engine stalls on several wasm threads (the known two-thread hang, README), run again
   * from the start on one thread instead of failing (default true).
   */
  readonly retryStalledOnOneThread?: boolean;
  /** Where the line saying a stalled run starts again goes; default stderr. */
  readonly onLog?: (line: string) => void;
}

/** A run whose engine stalled on several wasm threads and that ran again, whole, on one. */
export interface CycleGanStallRestart {
  readonly threads: number;
  /** The stall, as the CycleGanStalledError said it. */
  readonly message: string;
}

/** A trained harmoniser: the site → reference generator is what is applied at test time. */
export interface TrainedCycleGan {
  readonly spec: CycleGanSpec;
  /** Every network's weights (both generators and discriminators), canonical order. */
  readonly weights: NamedTensor[];
  /** The `toReference` generator's weights alone. */
  readonly generator: NamedTensor[];
  readonly generatorLosses: number[];
  readonly cycleLosses: number[];
  readonly discriminatorLosses: number[];
  /** W1 to the reference of the translated held-out site slices (empty without validation). */
  readonly distances: ValidationDistance[];
  /** Wall time of the run, validation passes included. */
  readonly seconds: number;
  /** Wall time of the training steps alone: the cost of the networks' size. */
  readonly stepSeconds: number;
  readonly backend: string;
  /** Present when the engine stalled and the run went on on one thread. */
  readonly stallRestart?: CycleGanStallRestart;
}

export class CycleGanCancelledError extends Error {
  override readonly name = 'CycleGanCancelledError';
  constructor(readonly iteration: number) {
    super(`CycleGAN training cancelled after ${iteration} iteration(s)`);
  }
}

/** A failure reported from the worker, with the worker's error name. */
export class CycleGanWorkerError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) throw new CycleGanError(`${field} must be a positive integer, got ${value}`);
  return value;
}

function copyImages(images: readonly GreyImage[]): GreyImage[] {
  return images.map(({ image, width, height }) => ({ image: image.slice(), width, height }));
}

type FinalMessage = Exclude<FromWorker, { type: 'progress' } | { type: 'kernels' } | { type: 'engine' }>;

/** The worker went silent (StallWatchdog); `engine` is what it started, if it got that far. */
export class CycleGanStalledError extends CycleGanWorkerError {
  constructor(
    message: string,
    readonly engine: StartedEngine | undefined,
  ) {
    super('CycleGanStalledError', message);
  }
}

/**
 * Runs one request in a fresh worker and settles with its final message. With `stallSeconds`, a
 * worker that goes silent is declared stalled (StallWatchdog) and the run rejects with a
 * CycleGanStalledError; `message` receives the shared word the worker names its running kernel in.
 */
function runInWorker(
  message: (kernelSlot: Int32Array | undefined) => ToWorker,
  transfer: ArrayBuffer[],
  onMessage: (message: FromWorker) => void,
  options: { readonly signal?: AbortSignal | undefined; readonly stallSeconds?: number } = {},
): Promise<FinalMessage> {
  const { signal, stallSeconds } = options;
  const worker = new Worker(new URL('./worker.js', import.meta.url));
  let engine: CycleGanStalledError['engine'];
  let stalled = false;
  return new Promise<FinalMessage>((resolve, reject) => {
    const onAbort = (): void => worker.postMessage({ type: 'cancel' } satisfies ToWorker);
    signal?.addEventListener('abort', onAbort, { once: true });
    const stalls =
      stallSeconds === undefined
        ? undefined
        : new StallWatchdog({
            minimumSeconds: stallSeconds,
            onStall: ({ silentSeconds, kernel }) => {
              stalled = true;
              settle(() => reject(new CycleGanStalledError(`CycleGAN training stalled: no word from its worker for ${Math.round(silentSeconds)} s; ${stalledAt(kernel)}`, engine)));
            },
          });
    const settle = (done: () => void): void => {
      stalls?.stop();
      signal?.removeEventListener('abort', onAbort);
      done();
    };
    worker.on('message', (m: FromWorker) => {
      stalls?.heard();
      if (m.type === 'kernels') stalls?.kernels(m.names);
      else if (m.type === 'engine') engine = { backend: m.backend, threads: m.threads };
      else if (m.type === 'progress') {
        stalls?.stepped();
        onMessage(m);
      } else if (m.type === 'error') settle(() => reject(new CycleGanWorkerError(m.name, m.message)));
      else settle(() => resolve(m));
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) => settle(() => reject(new CycleGanWorkerError('CycleGanWorkerError', `CycleGAN worker exited with code ${code}`))));
    worker.postMessage(message(stalls?.slot), transfer);
  }).finally(() => endWorker(worker, stalled));
}

export async function trainCycleGan(options: TrainCycleGanOptions): Promise<TrainedCycleGan> {
  const spec = validateCycleGanSpec(options.spec);
  validateGreyImages(options.siteImages, 'site', spec.patchSize);
  validateGreyImages(options.referenceImages, 'reference', spec.patchSize);
  const iterations = positiveInteger(options.iterations, 'iterations');
  const batchSize = positiveInteger(options.batchSize ?? 4, 'batchSize');
  options.signal?.throwIfAborted();
  const { validation } = options;
  if (validation) {
    validateGreyImages(validation.siteImages, 'validation site');
    validateGreyImages(validation.referenceImages, 'validation reference');
    positiveInteger(validation.every, 'validation.every');
  }
  const stallSeconds = options.stallSeconds ?? DEFAULT_STALL_SECONDS;
  if (!(stallSeconds > 0)) throw new CycleGanError(`stallSeconds must be positive, got ${options.stallSeconds}`);
  const referenceHistogram = validation ? intensityHistogram(validation.referenceImages.map((i) => i.image)) : undefined;
  const started = performance.now();
  /** One worker run; it owns copies of the images, so a second run copies them again. */
  const attempt = (threads: number | undefined): Promise<FinalMessage> => {
    const siteImages = copyImages(options.siteImages);
    const referenceImages = copyImages(options.referenceImages);
    const validationSite = validation ? copyImages(validation.siteImages) : [];
    return runInWorker(
      (kernelSlot) => ({
        type: 'train',
        request: {
          spec,
          siteImages,
          referenceImages,
          iterations,
          batchSize,
          seed: options.seed ?? 0,
          learningRate: options.learningRate ?? 2e-4,
          cycleWeight: options.cycleWeight ?? 10,
          identityWeight: options.identityWeight ?? 5,
          imagePool: options.imagePool ?? 0,
          schedule: options.schedule ?? 'constant',
          ...(validation ? { validation: { siteImages: validationSite, referenceHistogram: referenceHistogram!, every: validation.every } } : {}),
          ...(options.backend ? { backend: options.backend } : {}),
          ...(threads ? { threads } : {}),
          ...(kernelSlot ? { kernelSlot } : {}),
        },
      }),
      [...siteImages, ...referenceImages, ...validationSite].map((i) => i.image.buffer as ArrayBuffer),
      (m) => {
        if (m.type === 'progress') options.onProgress?.(m.progress);
      },
      { signal: options.signal, stallSeconds },
    );
  };
  let stallRestart: CycleGanStallRestart | undefined;
  const result = await attempt(options.threads).catch((error: unknown) => {
    // The engine hung on several wasm threads (the known hang, README): the whole run again on one.
    if (!(error instanceof CycleGanStalledError) || options.retryStalledOnOneThread === false) throw error;
    const threads = stalledOnThreads(error.engine, options.threads);
    if (threads < 2) throw error;
    (options.onLog ?? ((line: string) => process.stderr.write(`${line}\n`)))(`lgefed CycleGAN: ${error.message}; starting again on one wasm thread`);
    stallRestart = { threads, message: error.message };
    return attempt(1);
  });
  if (result.type !== 'trained') throw new CycleGanWorkerError('CycleGanWorkerError', `unexpected reply ${result.type}`);
  if (result.cancelledAt !== undefined) throw new CycleGanCancelledError(result.cancelledAt);
  return {
    spec,
    weights: result.weights,
    generator: pickWeights(generatorLayout(spec, 'toReference'), result.weights),
    generatorLosses: result.generatorLosses,
    cycleLosses: result.cycleLosses,
    discriminatorLosses: result.discriminatorLosses,
    distances: result.distances,
    seconds: (performance.now() - started) / 1000,
    stepSeconds: result.stepSeconds,
    backend: result.backend,
    ...(stallRestart ? { stallRestart } : {}),
  };
}

export interface TranslateOptions {
  /** Which generator to apply (default `toReference`: site images made to look like the reference). */
  readonly generator?: GeneratorName;
  readonly backend?: string;
}

/** Applies a generator to whole images of any size (edge-padded to its stride internally); output clipped to [0, 1]. */
export async function translateImages(spec: CycleGanSpec, weights: readonly NamedTensor[], images: readonly GreyImage[], options: TranslateOptions = {}): Promise<Float32Array[]> {
  const checked = validateCycleGanSpec(spec);
  const generator = options.generator ?? 'toReference';
  const own = cloneWeights(pickWeights(generatorLayout(checked, generator), weights));
  if (images.length === 0) return [];
  validateGreyImages(images, 'input');
  const copies = copyImages(images);
  const result = await runInWorker(
    () => ({ type: 'translate', request: { spec: checked, generator, weights: own, images: copies, ...(options.backend ? { backend: options.backend } : {}) } }),
    [...own.map((w) => w.data.buffer as ArrayBuffer), ...copies.map((i) => i.image.buffer as ArrayBuffer)],
    () => undefined,
  );
  if (result.type !== 'translated') throw new CycleGanWorkerError('CycleGanWorkerError', `unexpected reply ${result.type}`);
  return result.images;
}
