/**
 * Training batches as plain typed arrays (they cross the worker boundary by transfer). A batch
 * provider runs on the caller's side, so augmentation can be plugged in without touching training.
 */
import type { Slice } from '../types.js';
import { SeededRandom } from './random.js';
import { ModelInputError } from './unet.js';

export interface Batch {
  /** [count, size, size, channels] row-major (channels innermost; one for our MRI slices). */
  readonly images: Float32Array;
  /** [count, size, size] class indices. */
  readonly labels: Uint8Array;
  readonly count: number;
  readonly size: number;
}

export interface BatchProvider {
  /** Batch for a 0-based iteration; may be async (e.g. augmentation in another worker). */
  batch(iteration: number): Batch | Promise<Batch>;
  /** Iterations that make one pass over the data, when the provider has a notion of epochs. */
  readonly iterationsPerEpoch?: number;
}

export function checkBatch(batch: Batch, size: number, channels: number, classes: number): void {
  const pixels = batch.count * size * size;
  if (!Number.isInteger(batch.count) || batch.count < 1) throw new ModelInputError(`batch count must be a positive integer, got ${batch.count}`);
  if (batch.size !== size) throw new ModelInputError(`batch slices are ${batch.size}², the model expects ${size}²`);
  if (batch.images.length !== pixels * channels || batch.labels.length !== pixels) {
    throw new ModelInputError(
      `batch of ${batch.count} ${size}² slices with ${channels} channel(s) needs ${pixels * channels} image and ${pixels} label values, got ${batch.images.length} / ${batch.labels.length}`,
    );
  }
  for (let i = 0; i < batch.labels.length; i++) {
    if (batch.labels[i]! >= classes) throw new ModelInputError(`label ${batch.labels[i]} at index ${i} is not a class index below ${classes}`);
  }
}

/**
 * Batches drawn from preprocessed slices (each exactly size x size): a fresh seeded shuffle every
 * epoch, the last incomplete batch of an epoch dropped when there are at least `batchSize` slices.
 */
export function sliceBatches(slices: readonly Slice[], batchSize: number, seed: number): BatchProvider {
  if (slices.length === 0) throw new ModelInputError('no training slices');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ModelInputError(`batchSize must be a positive integer, got ${batchSize}`);
  const size = slices[0]!.width;
  slices.forEach((s, i) => {
    if (s.width !== size || s.height !== size) throw new ModelInputError(`slice ${i} is ${s.width}x${s.height}, expected ${size}x${size} like slice 0`);
    if (s.image.length !== size * size || s.label.length !== size * size) throw new ModelInputError(`slice ${i} arrays do not match ${size}x${size}`);
  });
  const perEpoch = Math.max(1, Math.floor(slices.length / batchSize));
  let random = new SeededRandom(seed);
  let epochOrder: number[] = [];
  let orderEpoch = -1;
  return {
    iterationsPerEpoch: perEpoch,
    batch(iteration: number): Batch {
      const epoch = Math.floor(iteration / perEpoch);
      // Shuffles are drawn in epoch order, so a given (seed, iteration) always yields the same batch.
      if (epoch < orderEpoch) {
        random = new SeededRandom(seed);
        orderEpoch = -1;
      }
      while (orderEpoch < epoch) {
        epochOrder = random.permutation(slices.length);
        orderEpoch++;
      }
      const start = (iteration % perEpoch) * batchSize;
      const count = Math.min(batchSize, slices.length);
      const images = new Float32Array(count * size * size);
      const labels = new Uint8Array(count * size * size);
      for (let b = 0; b < count; b++) {
        const slice = slices[epochOrder[(start + b) % slices.length]!]!;
        images.set(slice.image, b * size * size);
        labels.set(slice.label, b * size * size);
      }
      return { images, labels, count, size };
    },
  };
}
