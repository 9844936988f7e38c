import type { Batch, BatchProvider as TrainerBatchProvider } from '../model/batches.js';
import type { BatchProvider } from './batch.js';
import { AugmentationError } from './errors.js';

/**
 * Presents an augmenting provider through the trainer's batch interface (`batch(iteration)`,
 * square slices as `count` x `size`). Augmented batches form a stream, so iterations must be
 * asked for in order, starting anywhere.
 */
export function asTrainerBatchProvider(provider: BatchProvider): TrainerBatchProvider {
  let expected: number | undefined;
  return {
    iterationsPerEpoch: provider.batchesPerEpoch,
    async batch(iteration: number): Promise<Batch> {
      if (expected !== undefined && iteration !== expected) {
        throw new AugmentationError(`augmented batches are a stream: asked for iteration ${iteration}, next is ${expected}`);
      }
      expected = iteration + 1;
      const { images, labels, n, h, w } = await provider.nextBatch();
      if (h !== w) throw new AugmentationError(`the trainer takes square slices, got ${w}x${h}`);
      return { images, labels, count: n, size: w };
    },
  };
}
