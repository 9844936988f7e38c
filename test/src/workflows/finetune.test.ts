import assert from 'node:assert/strict';
import { initialWeights, modelId, type NamedTensor } from '@lgefed/shared/model/index';
import { finetuneModel, WorkflowError, type LoadedModel } from '@lgefed/shared/workflows/index';
import { FreezeError } from '@lgefed/shared/model/index';
import { engineOptions, tinySpec } from '../model/tiny.js';
import { ringCase } from './fixtures.js';

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

const cases = [ringCase('a'), ringCase('b', 24, 2, 2), ringCase('c', 24, 3, -2), ringCase('d', 24, 2, 1)];
const start = initialWeights(tinySpec, 11);
const pretrained: LoadedModel = { spec: tinySpec, weights: start, id: modelId(tinySpec, start) };
const common = { ...engineOptions, iterations: 2, batchSize: 2, learningRate: 1e-2, augmentation: 'paper', seed: 3 } as const;

function changedTensors(after: readonly NamedTensor[]): Set<string> {
  const before = new Map(start.map((t) => [t.name, t.data]));
  return new Set(after.filter((t) => !sameBits(t.data, before.get(t.name)!)).map((t) => t.name));
}

describe('workflows: fine-tuning', () => {
  it('trains only the first k encoder blocks and leaves every frozen block bit-identical', async () => {
    const result = await finetuneModel({ ...common, start: pretrained, cases, trainEncoderBlocks: 1 });
    assert.deepEqual(result.trainedBlocks, ['enc0']);
    const changed = changedTensors(result.weights);
    for (const name of changed) assert.ok(name.startsWith('enc0.'), `${name} is frozen but changed`);
    assert.ok([...changed].some((n) => n === 'enc0.conv1.weight'), 'the trainable encoder block should move');
    assert.equal(result.record.startedFrom, pretrained.id);
    assert.deepEqual(result.record.freeze, { trainEncoderBlocks: 1 });
  });

  it('trains only the last m decoder blocks', async () => {
    const result = await finetuneModel({ ...common, start: pretrained, cases, trainDecoderBlocks: 1 });
    const last = `dec${tinySpec.stages - 2}`;
    assert.deepEqual(result.trainedBlocks, [last]);
    const changed = changedTensors(result.weights);
    assert.ok(changed.size > 0);
    for (const name of changed) assert.ok(name.startsWith(`${last}.`), `${name} is frozen but changed`);
  });

  it('uses a seeded, reproducible fraction of the cases', async () => {
    const a = await finetuneModel({ ...common, start: pretrained, cases, selection: { fraction: 0.5 }, trainEncoderBlocks: 1 });
    const b = await finetuneModel({ ...common, start: pretrained, cases, selection: { fraction: 0.5 }, trainEncoderBlocks: 1 });
    assert.equal(a.usedCases.length, 2);
    assert.deepEqual(a.usedCases, b.usedCases);
    assert.deepEqual(a.record.trainCases, a.usedCases);
    assert.equal(a.modelId, b.modelId, 'same seed, same cases: same weights');
  });

  it('gives the from-scratch baseline through the same call: every block trains from He initialisation', async () => {
    const result = await finetuneModel({ ...common, start: { scratch: tinySpec }, cases, selection: { count: 1 } });
    assert.equal(result.record.startedFrom, undefined);
    assert.equal(result.trainedBlocks.length, 2 * tinySpec.stages - 1);
    assert.equal(result.usedCases.length, 1);
  });

  it('stops early on held-out slices of the training cases and records which slices and iteration it kept', async () => {
    const result = await finetuneModel({ ...common, iterations: 30, start: pretrained, cases, trainEncoderBlocks: 1, earlyStopping: { every: 5, patience: 2 } });
    const stopping = result.record.earlyStopping!;
    assert.equal(stopping.heldOutSlices, 2, '20 % of the 8 slices showing the heart, rounded');
    assert.equal(stopping.checks[0]!.iteration, 0, 'the starting weights are checked first');
    assert.ok(stopping.checks.some((c) => c.iteration === stopping.bestIteration));
    assert.equal(result.record.iterations, stopping.stoppedEarly ? stopping.checks.at(-1)!.iteration : 30);
    await assert.rejects(finetuneModel({ ...common, start: pretrained, cases: [ringCase('one', 24, 1)], earlyStopping: {} }), /at least 2 annotated slices/);
  });

  it('stops early on separate validation cases when given, training on every slice of the training cases', async () => {
    const result = await finetuneModel({ ...common, iterations: 10, start: pretrained, cases: cases.slice(0, 2), trainEncoderBlocks: 1, earlyStopping: { validationCases: cases.slice(2), every: 5, patience: 2 } });
    const stopping = result.record.earlyStopping!;
    assert.equal(stopping.heldOutSlices, 3 + 2, "every slice of the two validation cases (3 and 2 slices, all showing the heart)");
    assert.equal(stopping.checks[0]!.iteration, 0);
    await assert.rejects(finetuneModel({ ...common, start: pretrained, cases, earlyStopping: { validationCases: [{ ...cases[0]!, id: 'empty', label: { ...cases[0]!.label!, data: new Uint8Array(cases[0]!.label!.data.length) } }] } }), /validation cases have no annotated slice showing the heart/);
  });

  it('goes on on one thread when the engine hangs on two, and records it (failpoint LGEFED_FAILPOINT_ENGINE_HANG)', async () => {
    const plan = { ...common, iterations: 5, start: pretrained, cases, trainEncoderBlocks: 1, stallSeconds: 2 } as const;
    const progress: number[] = [];
    process.env['LGEFED_FAILPOINT_ENGINE_HANG'] = '3';
    let restarted;
    try {
      restarted = await finetuneModel({ ...plan, threads: 2, onProgress: (p) => progress.push(p.iteration) });
    } finally {
      delete process.env['LGEFED_FAILPOINT_ENGINE_HANG'];
    }
    const oneThread = await finetuneModel({ ...plan, threads: 1 });
    assert.deepEqual(progress, [1, 2, 3, 1, 2, 3, 4, 5]);
    assert.equal(restarted.record.stallRestart?.threads, 2);
    assert.equal(restarted.record.stallRestart?.resumedAt, 0);
    assert.equal(oneThread.record.stallRestart, undefined);
    assert.deepEqual(restarted.losses, oneThread.losses, 'each iteration once, as the one-thread run');
    assert.equal(restarted.modelId, oneThread.modelId);
  });

  it('rejects impossible requests with typed errors before training', async () => {
    await assert.rejects(finetuneModel({ ...common, start: pretrained, cases, trainEncoderBlocks: 0, trainDecoderBlocks: 0 }), FreezeError);
    await assert.rejects(finetuneModel({ ...common, start: pretrained, cases, selection: { count: 9 } }), WorkflowError);
    await assert.rejects(finetuneModel({ ...common, start: pretrained, cases, selection: { fraction: 0 } }), WorkflowError);
    const unlabelled = cases.map(({ label: _label, ...rest }) => rest);
    await assert.rejects(finetuneModel({ ...common, start: pretrained, cases: unlabelled }), WorkflowError);
  });
});
