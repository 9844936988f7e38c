import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChildRound, StalledRoundError } from '@lgefed/shared/bench/child-round';

/** A child that hangs (a timer that never ends) unless MARKER exists; it leaves MARKER behind on its first start. */
const HANGS_FIRST = `
const fs = require('node:fs');
if (fs.existsSync(process.env.MARKER)) { console.log('{"ok":true}'); process.exit(0); }
fs.writeFileSync(process.env.MARKER, '');
setInterval(() => {}, 1000);
`;

describe('bench: child rounds with a time limit', () => {
  let directory: string;
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'lgefed-child-round-'));
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('a hung child is killed and its round run once more in a fresh process', async () => {
    const marker = join(directory, 'started');
    const stalls: number[] = [];
    const stdout = await runChildRound(process.execPath, ['-e', HANGS_FIRST], { env: { ...process.env, MARKER: marker }, timeoutSeconds: 1, onStall: (n) => stalls.push(n) });
    assert.equal(stdout.trim(), '{"ok":true}');
    assert.deepEqual(stalls, [1]);
    assert.ok(existsSync(marker));
  });

  it('a child that hangs every time fails the round with a typed error', async () => {
    const stalls: number[] = [];
    await assert.rejects(runChildRound(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { timeoutSeconds: 0.5, onStall: (n) => stalls.push(n) }), StalledRoundError);
    assert.deepEqual(stalls, [1, 2]);
  });

  it('a child that fails is not retried: its error carries its stderr', async () => {
    const stalls: number[] = [];
    await assert.rejects(
      runChildRound(process.execPath, ['-e', 'console.error("bad shape"); process.exit(3)'], { timeoutSeconds: 30, onStall: (n) => stalls.push(n) }),
      (error: Error & { stderr?: string; code?: number }) => error.code === 3 && /bad shape/.test(error.stderr ?? ''),
    );
    assert.deepEqual(stalls, []);
  });
});
