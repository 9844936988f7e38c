import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeNifti } from '@lgefed/shared/imaging/index';
import { initialWeights } from '@lgefed/shared/model/index';
import { saveModelDirectory } from '@lgefed/shared/workflows/index';
import { tinySpec } from '../model/tiny.js';
import { ringCase } from './fixtures.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../cli/bin/lgefed.js', import.meta.url));

async function usageError(args: string[], message: RegExp): Promise<void> {
  await assert.rejects(run(process.execPath, [bin, ...args]), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2, err.stderr);
    assert.match(err.stderr, message);
    return true;
  });
}

describe('lgefed train | finetune | evaluate | predict: usage', () => {
  it('lists the model commands in --help', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    for (const name of ['train', 'finetune', 'evaluate', 'predict']) assert.match(stdout, new RegExp(`\\n  ${name} `));
  });

  it('rejects wrong usage with exit status 2 and says why', async () => {
    await usageError(['evaluate', '--data', '.', '--harmonise', 'bogus'], /--harmonise must be one of/);
    await usageError(['predict', '--in', 'a.nii.gz', '--out', 'b.png'], /--out must end in \.nii/);
    await usageError(['evaluate', '--data', '.', '--scales', '0,1'], /--scales: scales must be 1 to 8 factors/);
    await usageError(['predict', '--in', 'a.nii.gz', '--out', 'b.nii.gz', '--scales', '1,x'], /--scales: scales must be/);
    await usageError(['train', '--out', 'x', '--data', '.', '--epochs', '2', '--iterations', '3'], /--epochs or --iterations/);
    await usageError(['finetune', '--out', 'x', '--data', '.', '--no-early-stop', '--patience', '2'], /belong to early stopping/);
    await usageError(['finetune', '--out', 'x', '--data', '.', '--whole-network', '--encoder-blocks', '2'], /--whole-network trains every block/);
  });

  it('finetune tunes the first 3 encoder blocks and stops early on held-out slices by default, recording what it kept', async function () {
    this.timeout(120_000);
    const dir = await mkdtemp(join(tmpdir(), 'lgefed-finetune-cli-'));
    try {
      const data = join(dir, 'site');
      await mkdir(data);
      for (const c of [ringCase('p1', 24, 3), ringCase('p2', 24, 3, 2)]) {
        await writeNifti(join(data, `${c.id}.nii.gz`), { data: c.image.data, dims: c.image.dims, spacing: c.image.spacing });
        await writeNifti(join(data, `${c.id}_gt.nii.gz`), { data: c.label!.data, dims: c.label!.dims, spacing: c.label!.spacing });
      }
      const model = join(dir, 'pretrained');
      await saveModelDirectory(model, tinySpec, initialWeights(tinySpec, 5));
      const out = join(dir, 'tuned');
      const env = { ...process.env, LGEFED_BACKEND: 'wasm', LGEFED_THREADS: '1' };
      const { stdout } = await run(process.execPath, [bin, 'finetune', '--data', data, '--model', model, '--out', out, '--iterations', '8', '--check-every', '2', '--patience', '2'], { env });
      assert.match(stdout, /kept the weights of iteration \d+/);
      assert.match(stdout, /trained enc0, enc1, enc2 on 2 case/, 'from a model, the first 3 encoder blocks by default');
      const record = JSON.parse(await readFile(join(out, 'training.json'), 'utf8')) as { earlyStopping: { heldOutSlices: number; every: number; patience: number; checks: { iteration: number }[] } };
      assert.equal(record.earlyStopping.heldOutSlices, 1, '20 % of the 6 slices showing the heart');
      assert.deepEqual([record.earlyStopping.every, record.earlyStopping.patience], [2, 2]);
      assert.equal(record.earlyStopping.checks[0]!.iteration, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
