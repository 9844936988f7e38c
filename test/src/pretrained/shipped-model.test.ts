import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadDataset } from '@lgefed/shared/imaging/index';
import { SPEC_FILE, unetSpec } from '@lgefed/shared/model/index';
import { dice } from '@lgefed/shared/metrics/index';
import { loadModelDirectory, PRETRAINED_MODEL_DIR, segmentCases } from '@lgefed/shared/workflows/index';
import { engineOptions } from '../model/tiny.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../cli/bin/lgefed.js', import.meta.url));
/** Development data (never needed by the product): the shipped model's validation cases are in it. */
const EMIDEC = '/work/shared/data/emidec-lge-slices';

/** A folder holding copies of the given EMIDEC cases only (the png-slices layout). */
async function emidecSubset(ids: readonly string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lgefed-emidec-'));
  for (const sub of ['images', 'labels']) {
    await mkdir(join(dir, sub));
    for (const name of await readdir(join(EMIDEC, sub))) {
      if (ids.some((id) => name.startsWith(`${id}_`))) await copyFile(join(EMIDEC, sub, name), join(dir, sub, name));
    }
  }
  return dir;
}

describe('pretrained: the shipped EMIDEC model', () => {
  it('is found inside the package, stored as float16, lite preset, with its training record', async () => {
    assert.ok(PRETRAINED_MODEL_DIR.endsWith(join('shared', 'models', 'emidec-unet-lite')));
    const manifest = JSON.parse(await readFile(join(PRETRAINED_MODEL_DIR, SPEC_FILE), 'utf8')) as { dtype: string };
    assert.equal(manifest.dtype, 'float16');
    const model = await loadModelDirectory(PRETRAINED_MODEL_DIR);
    assert.deepEqual(model.spec, unetSpec('lite'));
    assert.ok(model.training, 'training.json is shipped');
    assert.equal(model.training.augmentation, 'paper');
    assert.deepEqual(model.training.spacing, [1.5, 1.5]);
  });

  describe('on real EMIDEC data', function () {
    before(function () {
      if (!existsSync(EMIDEC)) this.skip();
    });

    it('segments a validation case it never trained on: blood pool Dice > 0.8 on its mid-ventricular slice', async () => {
      const model = await loadModelDirectory(PRETRAINED_MODEL_DIR);
      const validation = (model.training!.notes!['split'] as { validation: string[] }).validation;
      const id = validation[0]!;
      assert.ok(!model.training!.trainCases.includes(id));
      const dir = await emidecSubset([id]);
      try {
        const { cases } = await loadDataset(dir, { layout: 'png-slices' });
        assert.equal(cases.length, 1);
        let predicted;
        for await (const result of segmentCases(model, cases, { backend: engineOptions.backend, onLog: () => {} })) predicted = result.label;
        const truth = cases[0]!.label!;
        const [w, h, depth] = truth.dims;
        const k = Math.floor(depth / 2);
        const slice = (data: Uint8Array, label: number) => data.subarray(k * w * h, (k + 1) * w * h).map((v) => (v === label ? 1 : 0));
        const bloodpool = dice(slice(predicted!.data, 1), slice(truth.data, 1));
        assert.ok(bloodpool > 0.8, `blood pool Dice ${bloodpool.toFixed(3)} on ${id} slice ${k}`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('is the default --model of lgefed evaluate, whose --json gives per-case scores and mean ± sd per structure', async () => {
      const model = await loadModelDirectory(PRETRAINED_MODEL_DIR);
      const id = (model.training!.notes!['split'] as { validation: string[] }).validation[1]!;
      const dir = await emidecSubset([id]);
      try {
        const { stdout } = await run(process.execPath, [bin, 'evaluate', '--data', dir, '--layout', 'png-slices', '--json'], { env: { ...process.env, LGEFED_BACKEND: 'wasm', LGEFED_THREADS: '1' } });
        const report = JSON.parse(stdout) as {
          model: string;
          cases: { id: string; bloodpool: { dice: number } }[];
          dice: Record<'bloodpool' | 'myocardium', { mean: number; sd: number; n: number }>;
        };
        assert.equal(report.model, model.id);
        assert.deepEqual(report.cases.map((c) => c.id), [id]);
        assert.equal(report.dice.bloodpool.mean, report.cases[0]!.bloodpool.dice);
        assert.equal(report.dice.myocardium.n, 1);
        assert.equal(report.dice.bloodpool.sd, 0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
