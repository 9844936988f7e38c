import assert from 'node:assert/strict';
import { asTrainerBatchProvider, AugmentationError, BatchAssembler, createPrefetchingBatchProvider, type SpacedSlice } from '@lgefed/shared/augment/index';
import { loadEmidecSlice } from './emidec-fixture.js';

describe('augmentation: prefetching batch provider', () => {
  const samples: SpacedSlice[] = ['Case_N006_slice002', 'Case_N006_slice003', 'Case_N006_slice004'].map((name) => loadEmidecSlice(name));
  const options = { preset: 'paper', seed: 21, batchSize: 2, outputWidth: 96, outputHeight: 96 } as const;

  it('delivers, from a worker thread, the same batches as the in-thread assembler', async () => {
    const provider = createPrefetchingBatchProvider(samples, { ...options, depth: 2 });
    const reference = new BatchAssembler(samples, options);
    try {
      assert.equal(provider.batchesPerEpoch, 2);
      for (let b = 0; b < 4; b++) {
        const batch = await provider.nextBatch();
        const expected = reference.next();
        assert.deepEqual([batch.n, batch.h, batch.w], [2, 96, 96]);
        assert.equal(batch.images.length, 2 * 96 * 96);
        assert.deepEqual(batch.images, expected.images);
        assert.deepEqual(batch.labels, expected.labels);
      }
    } finally {
      await provider.close();
    }
    await assert.rejects(provider.nextBatch(), /closed/);
  });

  it('batch i depends on (seed, i) alone: starting at iteration k gives what an uninterrupted run gives from k on', async () => {
    const uninterrupted = new BatchAssembler(samples, options);
    const batches = Array.from({ length: 5 }, () => uninterrupted.next());
    const resumed = new BatchAssembler(samples, options, 3);
    assert.deepEqual(resumed.next(), batches[3]);
    assert.deepEqual(resumed.next(), batches[4]);
    const provider = createPrefetchingBatchProvider(samples, { ...options, startIteration: 4 });
    try {
      assert.deepEqual((await provider.nextBatch()).images, batches[4]!.images);
    } finally {
      await provider.close();
    }
    assert.throws(() => new BatchAssembler(samples, options, -1), AugmentationError);
  });

  it('visits every sample once per epoch', () => {
    // Un-augmented, centred: each batch slot is recognisable by its image.
    const assembler = new BatchAssembler(samples, { ...options, preset: 'none', batchSize: 1, outputWidth: 256, outputHeight: 256 });
    const seen = Array.from({ length: 3 }, () => {
      const { images } = assembler.next();
      return samples.findIndex((s) => s.image.every((v, i) => v === images[i]));
    });
    assert.deepEqual([...seen].sort(), [0, 1, 2]);
  });

  it('rejects empty sample sets and bad batch sizes before starting a thread', () => {
    assert.throws(() => createPrefetchingBatchProvider([], options), AugmentationError);
    assert.throws(() => createPrefetchingBatchProvider(samples, { ...options, batchSize: 0 }), /batch size/);
    assert.throws(() => createPrefetchingBatchProvider(samples, { ...options, preset: 'heavy' }), /unknown augmentation preset/);
  });
});

describe('augmentation: trainer adapter', () => {
  it('feeds the trainer interface in iteration order, and from a new stream when asked for another iteration', async () => {
    const samples = [loadEmidecSlice(), loadEmidecSlice()];
    const options = { preset: 'spatial', seed: 4, batchSize: 3, outputWidth: 64, outputHeight: 64 } as const;
    const opened: number[] = [];
    const trainerView = asTrainerBatchProvider((startIteration) => {
      opened.push(startIteration);
      return createPrefetchingBatchProvider(samples, { ...options, startIteration });
    }, 10);
    try {
      assert.equal(trainerView.iterationsPerEpoch, 1);
      const first = await trainerView.batch(10);
      assert.deepEqual([first.count, first.size, first.images.length], [3, 64, 3 * 64 * 64]);
      const eleventh = await trainerView.batch(11);
      assert.deepEqual(opened, [10], 'in order: one stream');
      // A run that starts again from iteration 10 gets the same batches again.
      assert.deepEqual((await trainerView.batch(10)).images, first.images);
      assert.deepEqual((await trainerView.batch(11)).images, eleventh.images);
      assert.deepEqual(opened, [10, 10]);
      const reference = new BatchAssembler(samples, options, 13);
      assert.deepEqual((await trainerView.batch(13)).images, reference.next().images);
      assert.deepEqual(opened, [10, 10, 13]);
    } finally {
      await trainerView.close();
    }
  });
});
