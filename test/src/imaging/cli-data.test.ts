import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../cli/bin/lgefed.js', import.meta.url));
const lgefed = (...args: string[]) => run(process.execPath, [bin, ...args], { maxBuffer: 32 << 20 });

describe('lgefed phantom and lgefed data check', function () {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'lgefed-cli-data-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('generates a site, then checks it; a broken file is listed while the rest stays usable', async () => {
    const site = join(dir, 'emidec');
    const { stdout } = await lgefed('phantom', '--profile', 'emidec', '--cases', '2', '--seed', '3', '--out', site, '--gallery');
    assert.match(stdout, /2 emidec case\(s\).*'emidec'/);
    const ids = (await readdir(site)).filter((n) => n.startsWith('Case_')).sort();
    await writeFile(join(site, ids[0]!, 'Images', `${ids[0]}.nii.gz`), 'garbage'.repeat(60));
    const before = await readdir(join(site, ids[1]!, 'Images'));
    const check = await lgefed('data', 'check', '--data', site, '--json');
    const report = JSON.parse(check.stdout) as { cases: number; layout: string; problems: { code: string; file: string }[]; labelValues: number[] };
    assert.equal(report.layout, 'emidec');
    assert.equal(report.cases, 1);
    assert.deepEqual(report.problems.map((p) => p.code), ['bad-header']);
    assert.ok(report.problems[0]!.file.includes(ids[0]!));
    assert.deepEqual(await readdir(join(site, ids[1]!, 'Images')), before, 'never modifies the data');
    const text = await lgefed('data', 'check', '--data', site);
    assert.match(text.stdout, /\[bad-header\]/);
  });

  it('exits 1 when nothing usable remains, and reports unknown label values', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad);
    await writeFile(join(bad, 'a.nii'), 'nope'.repeat(100));
    await assert.rejects(lgefed('data', 'check', '--data', bad), (err: { code: number; stdout: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stdout, /0 usable/);
      return true;
    });
    const mscmr = join(dir, 'mscmr');
    await lgefed('phantom', '--profile', 'mscmr', '--cases', '1', '--out', mscmr);
    const { stdout } = await lgefed('data', 'check', '--data', mscmr, '--labels', '500=1,200=2');
    assert.match(stdout, /UNKNOWN 600/);
  });

  it('rejects bad usage with exit status 2', async () => {
    await assert.rejects(lgefed('phantom', '--profile', 'nope', '--out', dir), (err: { code: number }) => err.code === 2);
    await assert.rejects(lgefed('data', 'check'), (err: { code: number }) => err.code === 2);
  });
});
