import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactCheckpoint, loadCheckpoint, ModelFileError, OPTIMIZER_FILE, TrainingCancelledError, trainModel, TrainingOptionsError, WEIGHTS_FILE } from '@lgefed/shared/model/index';
import { engineOptions, ringSlice, tinySpec, useWasm } from './tiny.js';

describe('model: resumable training checkpoints', () => {
  before(useWasm);
  const data = [ringSlice(), ringSlice(16, [7, 9]), ringSlice(16, [9, 6], 2, 5)];
  const plan = { ...engineOptions, spec: tinySpec, data, batchSize: 2, iterations: 6, learningRate: 1e-2, learningRateSchedule: 'poly', seed: 3 } as const;
  let directory: string;
  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'lgefed-checkpoint-'));
  });
  after(() => rm(directory, { recursive: true, force: true }));

  it('a run resumed from its checkpoint ends with exactly the weights of an uninterrupted run', async () => {
    const straight = await trainModel({ ...plan, checkpointEvery: 3, checkpointDir: join(directory, 'run') });
    const checkpoint = await loadCheckpoint(join(directory, 'run', 'latest'));
    assert.equal(checkpoint.state.iteration, 3);
    assert.deepEqual(checkpoint.plan, { iterations: 6, learningRate: 1e-2, learningRateSchedule: 'poly', seed: 3 });
    // Every supervised parameter has moments (the unsupervised lowest head never gets a gradient).
    assert.ok(checkpoint.state.optimizer.moments.filter((m) => m.second.some((v) => v > 0)).length >= checkpoint.state.optimizer.moments.length - 2, 'second moments were saved');
    const progress: number[] = [];
    const resumed = await trainModel({ ...plan, initialWeights: checkpoint.model.weights, resume: checkpoint.state, onProgress: (p) => progress.push(p.iteration) });
    assert.deepEqual(progress, [4, 5, 6]);
    assert.deepEqual(resumed.losses, straight.losses.slice(3));
    assert.equal(resumed.modelId, straight.modelId);
  });

  it('without the optimiser state the same resume lands elsewhere (the state matters)', async () => {
    const straight = await trainModel(plan);
    const checkpoint = await loadCheckpoint(join(directory, 'run', 'latest'));
    const freshAdam = await trainModel({ ...plan, iterations: 3, initialWeights: checkpoint.model.weights });
    assert.notEqual(freshAdam.modelId, straight.modelId);
  });

  it('a compact checkpoint takes half the bytes and resumes the same plan from values rounding moved slightly', async () => {
    const exactDir = join(directory, 'run', 'latest');
    const compactDir = join(directory, 'compact');
    await compactCheckpoint(exactDir, compactDir);
    for (const file of [WEIGHTS_FILE, OPTIMIZER_FILE]) {
      assert.equal((await stat(join(compactDir, file))).size * 2, (await stat(join(exactDir, file))).size, file);
    }
    const exact = await loadCheckpoint(exactDir);
    const compact = await loadCheckpoint(compactDir);
    assert.deepEqual(compact.plan, exact.plan);
    assert.equal(compact.state.iteration, exact.state.iteration);
    const relativeError = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!) / Math.max(Math.abs(b[i]!), 1e-30)), 0);
    for (const [i, m] of compact.state.optimizer.moments.entries()) {
      const reference = exact.state.optimizer.moments[i]!;
      assert.ok(relativeError(m.first, reference.first) <= 2 ** -8 && relativeError(m.second, reference.second) <= 2 ** -8, m.name);
    }
    // Second moments far below float16's range keep their size in bfloat16.
    const tiny = exact.state.optimizer.moments.flatMap((m) => [...m.second]).filter((v) => v > 0 && v < 1e-8);
    assert.ok(tiny.length > 0, 'the run has second moments below 1e-8');
    const exactResume = await trainModel({ ...plan, initialWeights: exact.model.weights, resume: exact.state });
    const compactResume = await trainModel({ ...plan, initialWeights: compact.model.weights, resume: compact.state });
    assert.equal(compactResume.losses.length, 3);
    compactResume.losses.forEach((loss, i) => assert.ok(Math.abs(loss - exactResume.losses[i]!) < 0.01 * exactResume.losses[i]!, `${loss} vs ${exactResume.losses[i]}`));
  });

  it('a run cancelled part-way leaves a checkpoint at the iteration it reached', async () => {
    const stop = new AbortController();
    await assert.rejects(
      trainModel({ ...plan, iterations: 50, checkpointEvery: 100, checkpointDir: join(directory, 'cancelled'), signal: stop.signal, onProgress: (p) => p.iteration === 2 && stop.abort() }),
      TrainingCancelledError,
    );
    const checkpoint = await loadCheckpoint(join(directory, 'cancelled', 'latest'));
    assert.ok(checkpoint.state.iteration >= 2 && checkpoint.state.iteration < 50, `checkpoint at ${checkpoint.state.iteration}`);
  });

  it('refuses a resume outside the plan, one without weights, and a damaged optimiser file', async () => {
    const checkpoint = await loadCheckpoint(join(directory, 'run', 'latest'));
    await assert.rejects(trainModel({ ...plan, iterations: 3, initialWeights: checkpoint.model.weights, resume: checkpoint.state }), TrainingOptionsError);
    await assert.rejects(trainModel({ ...plan, resume: checkpoint.state }), /initialWeights/);
    const file = join(directory, 'run', 'latest', OPTIMIZER_FILE);
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, 100));
    await assert.rejects(loadCheckpoint(join(directory, 'run', 'latest')), ModelFileError);
    const nan = Buffer.from(bytes);
    nan.writeFloatLE(Number.NaN, 0);
    await writeFile(file, nan);
    await assert.rejects(loadCheckpoint(join(directory, 'run', 'latest')), /NaN/);
  });
});
