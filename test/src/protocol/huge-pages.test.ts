import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { asksForHugePages, HUGE_PAGE_TUNABLE, withHugePages, withPageSize } from '@lgefed/protocol';

const run = promisify(execFile);

/** Minor page faults of a fresh node process that writes one byte per 4 KiB page of 256 MiB. */
async function faultsTouching(env: NodeJS.ProcessEnv): Promise<number> {
  const script = 'const b = Buffer.allocUnsafe(256 * 2 ** 20); const before = process.resourceUsage().minorPageFault; for (let i = 0; i < b.length; i += 4096) b[i] = 1; console.log(process.resourceUsage().minorPageFault - before);';
  const { stdout } = await run(process.execPath, ['-e', script], { env });
  return Number(stdout.trim());
}

/** Whether this kernel gives transparent huge pages to a process that asks (madvise or always). */
function transparentHugePages(): boolean {
  try {
    return !/\[never\]/.test(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'));
  } catch {
    return false;
  }
}

describe('protocol: huge pages for the processes that receive models', () => {
  it('asks glibc for huge pages, keeping other tunables and an operator’s own choice', () => {
    assert.equal(withHugePages({ PATH: '/bin' })['GLIBC_TUNABLES'], HUGE_PAGE_TUNABLE);
    assert.equal(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })['GLIBC_TUNABLES'], `glibc.malloc.arena_max=2:${HUGE_PAGE_TUNABLE}`);
    assert.equal(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' })['GLIBC_TUNABLES'], 'glibc.malloc.hugetlb=0');
    assert.equal(asksForHugePages(withHugePages({})), true);
    assert.equal(asksForHugePages({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }), false);
    assert.equal(asksForHugePages({}), false);
    const env = { PATH: '/bin' };
    withHugePages(env);
    assert.deepEqual(env, { PATH: '/bin' }, 'the given environment is not changed');
  });

  it('chooses either page size for a benchmark, keeping other tunables', () => {
    const operator = { GLIBC_TUNABLES: `glibc.malloc.arena_max=2:${HUGE_PAGE_TUNABLE}` };
    assert.equal(withPageSize(operator, false)['GLIBC_TUNABLES'], 'glibc.malloc.arena_max=2');
    assert.equal(withPageSize(operator, true)['GLIBC_TUNABLES'], operator.GLIBC_TUNABLES);
    assert.equal(withPageSize({}, false)['GLIBC_TUNABLES'], '');
    assert.equal(asksForHugePages(withPageSize({}, true)), true);
  });

  it('a process started with it takes far fewer page faults writing fresh memory', async function () {
    if (process.platform !== 'linux' || !transparentHugePages()) this.skip();
    const plain = await faultsTouching(withPageSize(process.env, false));
    const huge = await faultsTouching(withPageSize(process.env, true));
    console.log(`      256 MiB written: ${plain} page faults with 4 KiB pages, ${huge} with huge pages`);
    // 65 536 pages of 4 KiB; 2 MiB pages need 128 faults (a few fall back where no huge page is free).
    assert.ok(plain > 60_000, `${plain} faults with 4 KiB pages`);
    assert.ok(huge < plain / 4, `${huge} faults with huge pages against ${plain}`);
  });
});
