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

  it('also ends a run whose first iteration never comes, after three times the allowance', async () => {
    const never = { batch: () => new Promise<never>(() => {}) };
    const started = performance.now();
    const error = await trainModel({ ...engineOptions, spec: tinySpec, data: never, iterations: 3, stallSeconds: 2 }).then(
      () => assert.fail('a run that never steps must not resolve'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TrainingStalledError, String(error));
    assert.equal(error.iteration, 0);
    assert.equal(error.awaitedBatch, 0);
    assert.ok(error.silentSeconds >= 6 && (performance.now() - started) / 1000 >= 6, `declared after ${error.silentSeconds} s`);
  });

  describe('when the engine hangs on two wasm threads (failpoint LGEFED_FAILPOINT_ENGINE_HANG)', () => {
    const data = [slice, ringSlice(16, [7, 8])];
    const plan = { spec: tinySpec, data, batchSize: 2, iterations: 6, seed: 4, learningRate: 1e-2, backend: 'wasm', stallSeconds: 2 } as const;
    const hangAt = async <T>(at: number | 'start', run: () => Promise<T>): Promise<T> => {
      process.env['LGEFED_FAILPOINT_ENGINE_HANG'] = String(at);
      try {
        return await run();
      } finally {
        delete process.env['LGEFED_FAILPOINT_ENGINE_HANG'];
      }
    };

    it('starts again on one thread and ends with the weights of a one-thread run', async () => {
      const lines: string[] = [];
      const progress: number[] = [];
      const restarted = await hangAt(3, () => trainModel({ ...plan, threads: 2, onLog: (line) => lines.push(line), onProgress: (p) => progress.push(p.iteration) }));
      const oneThread = await trainModel({ ...plan, threads: 1, onLog: () => {} });
      assert.deepEqual(restarted.stallRestart && { ...restarted.stallRestart, silentSeconds: 0 }, { iteration: 3, silentSeconds: 0, kernel: undefined, threads: 2, resumedAt: 0 });
      assert.deepEqual(progress, [1, 2, 3, 1, 2, 3, 4, 5, 6], 'three iterations, the stall, then the whole run again');
      assert.equal(restarted.modelId, oneThread.modelId);
      assert.deepEqual(restarted.losses, oneThread.losses);
      assert.ok(lines.some((line) => /training stalled: no word from the training worker .* after 3 iteration\(s\).*starting again from iteration 0 on one wasm thread/.test(line)), lines.join('\n'));
      await assert.rejects(
        hangAt(3, () => trainModel({ ...plan, threads: 2, onLog: () => {}, retryStalledOnOneThread: false })),
        (e: unknown) => e instanceof TrainingStalledError && e.iteration === 3,
      );
    });

    it('also starts again when the engine hangs while starting, before it said what it runs on', async () => {
      const restarted = await hangAt('start', () => trainModel({ ...plan, threads: 2, onLog: () => {} }));
      assert.equal(restarted.stallRestart?.iteration, 0);
      assert.equal(restarted.stallRestart?.threads, 2, 'the threads asked for');
      assert.ok(restarted.stallRestart!.silentSeconds >= 6, 'three times the allowance before the first step');
      assert.equal(restarted.iterations, 6);
    });

    it('goes on from the last checkpoint it wrote, keeping the losses before it', async () => {
      const directory = await mkdtemp(join(tmpdir(), 'lgefed-stall-'));
      try {
        const progress: number[] = [];
        const snapshots: number[] = [];
        const result = await hangAt(5, () =>
          trainModel({
            ...plan,
            threads: 2,
            onLog: () => {},
            checkpointEvery: 2,
            checkpointDir: directory,
            snapshotEvery: 1,
            onSnapshot: (iteration) => snapshots.push(iteration),
            onProgress: (p) => progress.push(p.iteration),
          }),
        );
        assert.equal(result.stallRestart?.resumedAt, 4);
        assert.deepEqual(progress, [1, 2, 3, 4, 5, 5, 6], 'iteration 5 ran twice: once before the stall, once from the checkpoint of iteration 4');
        assert.deepEqual(snapshots, [1, 2, 3, 4, 5, 6], 'each snapshot once');
        assert.equal(result.losses.length, 6);
        assert.equal(result.iterations, 6);
        assert.ok(result.losses.every(Number.isFinite));
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });
  });
});
