import { Worker } from 'node:worker_threads';
import { validateBatchInputs, type BatchOptions, type BatchProvider, type TrainingBatch } from './batch.js';
import { AugmentationError } from './errors.js';
import { packSamples, type FromWorker, type ToWorker } from './prefetch-protocol.js';
import { presetByName } from './presets.js';
import type { SpacedSlice } from './sample.js';

export interface PrefetchOptions extends BatchOptions {
  /** Batches prepared ahead of the one being consumed (default 2). */
  readonly depth?: number;
  /** The first batch is this iteration's (resumed training; default 0). */
  readonly startIteration?: number;
}

interface Pending {
  resolve(batch: TrainingBatch): void;
  reject(error: Error): void;
}

/**
 * A batch provider that augments in a worker thread, keeping `depth` batches in preparation while
 * the trainer works on the current one; the batch sequence equals BatchAssembler's for the same seed.
 */
export function createPrefetchingBatchProvider(samples: readonly SpacedSlice[], options: PrefetchOptions): BatchProvider {
  validateBatchInputs(samples, options);
  const depth = options.depth ?? 2;
  if (!Number.isInteger(depth) || depth < 1) throw new AugmentationError(`prefetch depth must be a positive integer, got ${depth}`);
  const preset = typeof options.preset === 'string' ? presetByName(options.preset) : options.preset;

  const worker = new Worker(new URL('./prefetch-worker.js', import.meta.url));
  // Replies arrive in request order; each resolves the oldest outstanding request.
  const inFlight: Promise<TrainingBatch>[] = [];
  const waiting: Pending[] = [];
  let failure: Error | undefined;
  let closed = false;

  const failAll = (error: Error): void => {
    failure ??= error;
    for (const pending of waiting.splice(0)) pending.reject(failure);
  };
  worker.on('message', (message: FromWorker) => {
    const pending = waiting.shift();
    if (!pending) return;
    if (message.type === 'batch') pending.resolve(message.batch);
    else pending.reject(new AugmentationError(`augmentation worker: ${message.message}`));
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', (code) => {
    if (!closed) failAll(new AugmentationError(`augmentation worker exited with status ${code}`));
  });

  const request = (): void => {
    const batch = new Promise<TrainingBatch>((resolve, reject) => {
      if (failure) reject(failure);
      else waiting.push({ resolve, reject });
    });
    batch.catch(() => undefined); // surfaced by nextBatch(); avoid an unhandled rejection for prefetched ones
    inFlight.push(batch);
    const message: ToWorker = { type: 'next' };
    worker.postMessage(message);
  };

  const init: ToWorker = { type: 'init', samples: packSamples(samples), options: { ...options, preset }, startIteration: options.startIteration ?? 0 };
  worker.postMessage(init);
  for (let i = 0; i < depth; i++) request();

  return {
    batchesPerEpoch: Math.ceil(samples.length / options.batchSize),
    async nextBatch() {
      if (closed) throw new AugmentationError('batch provider is closed');
      const batch = inFlight.shift()!;
      request();
      return batch;
    },
    async close() {
      if (closed) return;
      closed = true;
      failAll(new AugmentationError('batch provider is closed'));
      await worker.terminate();
    },
  };
}
