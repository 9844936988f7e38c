import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  initialWeights,
  loadModel,
  sliceBatches,
  trainModel,
  TrainingCancelledError,
  TrainingOptionsError,
  TrainingError,
  TrainingStalledError,
  type NamedTensor,
  type TrainingProgress,
} from '@lgefed/shared/model/index';
import { engineOptions, ringSlice, tinySpec } from './tiny.js';

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

function byName(weights: readonly NamedTensor[]): Map<string, Float32Array> {
  return new Map(weights.map((t) => [t.name, t.data]));
}

describe('model: training in a worker thread', () => {
  const slice = ringSlice();

  it('is reproducible: same seed and data give bit-identical weights, another seed differs', async () => {
    const run = (seed: number) => trainModel({ ...engineOptions, spec: tinySpec, data: [slice, ringSlice(16, [7, 8])], batchSize: 2, iterations: 3, seed, learningRate: 1e-2 });
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    assert.equal(a.modelId, b.modelId);
    assert.notEqual(a.modelId, c.modelId);
    assert.deepEqual(a.losses, b.losses);
    assert.equal(a.iterations, 3);
  });

  it('keeps frozen blocks bit-identical while the trainable ones change', async () => {
    const start = initialWeights(tinySpec, 3);
    const result = await trainModel({
      ...engineOptions,
      spec: tinySpec,
      initialWeights: start,
      data: [slice],
      batchSize: 1,
      iterations: 3,
      learningRate: 1e-2,
      freeze: { trainEncoderBlocks: 2 },
    });
    const before = byName(start);
    let changed = 0;
    for (const tensor of result.weights) {
      const trainable = tensor.name.startsWith('enc0.') || tensor.name.startsWith('enc1.');
      const identical = sameBits(tensor.data, before.get(tensor.name)!);
      if (trainable) changed += identical ? 0 : 1;
      else assert.ok(identical, `${tensor.name} is frozen but changed`);
    }
    assert.equal(changed, 12, 'every enc0/enc1 tensor should move');
  });

  it('reports progress, writes periodic checkpoints and stops on abort with the weights reached', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'lgefed-train-'));
    try {
      const progress: TrainingProgress[] = [];
      const checkpoints: { iteration: number; directory: string; modelId: string }[] = [];
      const snapshots: { iteration: number; weights: NamedTensor[] }[] = [];
      const controller = new AbortController();
      const run = trainModel({
        ...engineOptions,
        spec: tinySpec,
        data: [slice],
        batchSize: 1,
        iterations: 1000,
        checkpointEvery: 2,
        checkpointDir: directory,
        signal: controller.signal,
        onCheckpoint: (c) => checkpoints.push(c),
        snapshotEvery: 3,
        onSnapshot: (iteration, weights) => snapshots.push({ iteration, weights }),
        onProgress: (p) => {
          progress.push(p);
          if (p.iteration === 4) controller.abort();
        },
      });
      const error = await run.then(
        () => assert.fail('an aborted run must reject'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof TrainingCancelledError);
      assert.ok(error.iteration >= 4 && error.iteration < 1000);
      assert.equal(error.weights.length, initialWeights(tinySpec, 0).length);
      assert.deepEqual(progress.slice(0, 4).map((p) => p.iteration), [1, 2, 3, 4]);
      assert.ok(progress.every((p) => p.iterations === 1000 && p.slicesPerSecond > 0 && p.etaSeconds >= 0 && Number.isFinite(p.loss)));
      assert.deepEqual(checkpoints.slice(0, 2).map((c) => c.iteration), [2, 4]);
      // Snapshots: the weights every 3 iterations, each the model's full set and distinct from the last.
      assert.deepEqual(snapshots.slice(0, 1).map((s) => s.iteration), [3]);
      assert.equal(snapshots[0]!.weights.length, initialWeights(tinySpec, 0).length);
      assert.notDeepEqual(snapshots[0]!.weights[0]!.data, initialWeights(tinySpec, 0)[0]!.data);
      const saved = await loadModel(checkpoints.at(-1)!.directory);
      assert.equal(saved.id, checkpoints.at(-1)!.modelId);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('rejects bad options and bad batches with typed errors', async () => {
    await assert.rejects(trainModel({ ...engineOptions, spec: tinySpec, data: [slice], epochs: 1, iterations: 1 }), TrainingOptionsError);
    await assert.rejects(trainModel({ ...engineOptions, spec: tinySpec, data: [slice], iterations: 1, snapshotEvery: 1 }), /snapshotEvery and onSnapshot go together/);
    await assert.rejects(trainModel({ ...engineOptions, spec: tinySpec, data: [ringSlice(32)], iterations: 1 }), TrainingError);
    const badLabels = { ...slice, label: new Uint8Array(slice.label.length).fill(7) };
    await assert.rejects(trainModel({ ...engineOptions, spec: tinySpec, data: [badLabels], iterations: 1 }), /label 7/);
  });

  it('ends a run that stops making progress with a TrainingStalledError saying what it waited for, instead of waiting for ever', async () => {
    const slices = sliceBatches([slice], 1, 0);
    // The first two batches arrive; the third never does, as from an augmentation worker that hung.
    const stuck = { batch: (iteration: number) => (iteration < 2 ? slices.batch(iteration) : new Promise<never>(() => {})) };
    const progress: number[] = [];
    const error = await trainModel({ ...engineOptions, spec: tinySpec, data: stuck, iterations: 5, stallSeconds: 10, onProgress: (p) => progress.push(p.iteration) }).then(
      () => assert.fail('a stalled run must not resolve'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TrainingStalledError, String(error));
    assert.deepEqual(progress, [1, 2]);
    assert.equal(error.iteration, 2);
    assert.equal(error.awaitedBatch, 2);
    assert.equal(error.kernel, undefined, 'the engine was idle, waiting for the batch');
    assert.ok(error.silentSeconds >= 10);
    assert.match(error.message, /batch provider has not delivered the batch of iteration 2/);
    await assert.rejects(trainModel({ ...engineOptions, spec: tinySpec, data: [slice], iterations: 1, stallSeconds: 0 }), TrainingOptionsError);
  });
});
