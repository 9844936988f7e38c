import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../cli/bin/lgefed.js', import.meta.url));

describe('lgefed CLI', () => {
  it('lists its commands with --help and exits 0', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    assert.match(stdout, /Usage: lgefed <command>/);
  });

  it('rejects an unknown command with exit status 2', async () => {
    await assert.rejects(run(process.execPath, [bin, 'no-such-command']), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /unknown command 'no-such-command'/);
      return true;
    });
  });

  it('lists a command group with lgefed coordinator --help', async () => {
    const { stdout } = await run(process.execPath, [bin, 'coordinator', '--help']);
    assert.match(stdout, /Usage: lgefed coordinator <command>/);
    for (const name of ['start', 'enroll', 'revoke', 'token', 'models import', 'models list']) assert.match(stdout, new RegExp(`^  coordinator ${name} `, 'm'));
  });

  it('shows a site.json for the study in site start --help: every task kind, no forced cpu backend', async () => {
    const { stdout } = await run(process.execPath, [bin, 'site', 'start', '--help']);
    assert.match(stdout, /"allowedTaskKinds": \["train", "evaluate", "finetune", "harmonisation-check"\]/);
    assert.doesNotMatch(stdout, /"backend": "cpu"/);
  });
});
