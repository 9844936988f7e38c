import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNifti, writeNifti } from '@lgefed/shared/imaging/index';
import { initialWeights, modelId } from '@lgefed/shared/model/index';
import { evaluateModel, predictNiftiFile, WorkflowError, type LoadedModel } from '@lgefed/shared/workflows/index';
import { engineOptions, tinySpec } from '../model/tiny.js';
import { ringCase } from './fixtures.js';

const weights = initialWeights(tinySpec, 2);
const model: LoadedModel = { spec: tinySpec, weights, id: modelId(tinySpec, weights) };
const settings = { backend: engineOptions.backend, threads: engineOptions.threads, onLog: () => {} } as const;

describe('workflows: evaluation and prediction', () => {
  it('scores every case, summarises per structure, and applies the image transform hook to each case', async () => {
    const cases = [ringCase('a'), ringCase('b', 24, 3, 2)];
    const seen: string[] = [];
    const report = await evaluateModel({
      ...settings,
      model,
      cases,
      transform: (image, c) => {
        seen.push(c.id);
        return { ...image, data: image.data.map((v) => v / 2) };
      },
    });
    assert.deepEqual(seen, ['a', 'b']);
    assert.deepEqual(report.cases.map((c) => c.id), ['a', 'b']);
    assert.equal(report.modelId, model.id);
    for (const structure of ['bloodpool', 'myocardium'] as const) {
      const dice = report.cases.map((c) => c.scores[structure].dice);
      dice.forEach((d) => assert.ok(d >= 0 && d <= 1));
      assert.ok(Math.abs(report.summary.dice[structure].mean - (dice[0]! + dice[1]!) / 2) < 1e-12);
      assert.equal(report.summary.dice[structure].n, 2);
    }
  });

  it('refuses unlabelled cases and a transform that changes the grid', async () => {
    const { label: _label, ...unlabelled } = ringCase('u');
    await assert.rejects(evaluateModel({ ...settings, model, cases: [unlabelled] }), WorkflowError);
    const shrink = (image: { data: Float32Array; dims: readonly [number, number, number]; spacing: readonly [number, number, number] }) => ({ ...image, data: image.data.subarray(0, 10), dims: [2, 5, 1] as const });
    await assert.rejects(evaluateModel({ ...settings, model, cases: [ringCase('a')], transform: shrink }), /changed case a's dims/);
  });

  it('predicts a NIfTI file into a label map on the same grid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lgefed-predict-'));
    try {
      const c = ringCase('n', 24, 3);
      const input = join(dir, 'image.nii.gz');
      await writeNifti(input, { data: c.image.data, dims: c.image.dims, spacing: c.image.spacing });
      const output = join(dir, 'labels.nii.gz');
      const result = await predictNiftiFile(model, input, output, settings);
      const written = await readNifti(output);
      assert.deepEqual(written.dims, [24, 24, 3]);
      assert.deepEqual(written.spacing, [1.5, 1.5, 10]);
      assert.ok(written.data.every((v) => v === 0 || v === 1 || v === 2));
      const bloodpoolMl = written.data.filter((v) => v === 1).length * 1.5 * 1.5 * 10 / 1000;
      assert.ok(Math.abs(result.volumesMl.bloodpool - bloodpoolMl) < 1e-9);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
