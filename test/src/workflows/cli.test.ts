import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

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
    await usageError(['train', '--out', 'x', '--data', '.', '--epochs', '2', '--iterations', '3'], /--epochs or --iterations/);
  });
});
