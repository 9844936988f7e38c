import type { Batch, BatchProvider as TrainerBatchProvider } from '../model/batches.js';
import type { BatchProvider } from './batch.js';
import { AugmentationError } from './errors.js';

/** The trainer's batch interface over augmented batches, with the streams it opened to close. */
export interface TrainerBatchStream extends TrainerBatchProvider {
  close(): Promise<void>;
}

/**
 * Presents augmenting providers through the trainer's batch interface (`batch(iteration)`, square
 * slices as `count` x `size`). Augmented batch i is a function of (seed, i) alone, made in a
 * stream: asked for iterations in order, it reads on from `open(startIteration)`; asked for
 * another (a run that starts again after its engine stalled), it opens a new stream there.
 */
export function asTrainerBatchProvider(open: (startIteration: number) => BatchProvider, startIteration: number): TrainerBatchStream {
  let provider = open(startIteration);
  let expected = startIteration;
  return {
    iterationsPerEpoch: provider.batchesPerEpoch,
    async batch(iteration: number): Promise<Batch> {
      if (iteration !== expected) {
        const stale = provider;
        provider = open(iteration);
        await stale.close();
      }
      expected = iteration + 1;
      const { images, labels, n, h, w } = await provider.nextBatch();
      if (h !== w) throw new AugmentationError(`the trainer takes square slices, got ${w}x${h}`);
      return { images, labels, count: n, size: w };
    },
    close: () => provider.close(),
  };
}
