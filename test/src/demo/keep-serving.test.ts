import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { reopenHelp } from '@lgefed/cli/demo/keep-serving';
import { launchChromium, screenshot, watchPageErrors } from '../console/browser.js';
import { cli, prepareSite, Proc, spawnCli, startAgent, startCoordinatorProcess } from '../federation/harness.js';

interface SiteView {
  name: string;
  presence: { connected: boolean; lastHeartbeatAt: number | null; agentVersion: string | null; capabilities: { cpuCores: number } | null; datasets: { caseCount: number }[] };
}

describe('the demo after its study: the console stays up, and reopens later on the kept state', function () {
  this.timeout(300_000);
  let root = '';
  let browser: Browser | undefined;
  const procs: Proc[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-keep-'));
  });
  after(async () => {
    await browser?.close();
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await rm(root, { recursive: true, force: true });
  });

  it('waits for Ctrl-C instead of exiting, then ends normally', async () => {
    const module = new URL('../../../cli/dist/demo/keep-serving.js', import.meta.url).href;
    const child = new Proc(spawn(process.execPath, ['--input-type=module', '-e', `const { untilInterrupted } = await import(${JSON.stringify(module)}); console.log('waiting'); console.log('stopped by', await untilInterrupted());`], { stdio: ['ignore', 'pipe', 'pipe'] }));
    procs.push(child);
    await child.waitFor(/waiting/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(child.child.exitCode, null, 'exited without being asked');
    child.child.kill('SIGINT');
    assert.equal(await child.exited, 0);
    assert.match(child.output, /stopped by SIGINT/);
  });

  it("the printed commands reopen the console with each site's last heartbeat, hardware and data", async () => {
    const state = join(root, 'coordinator');
    const first = await startCoordinatorProcess(state);
    procs.push(first.proc);
    const sites = [await prepareSite(root, state, 'north', 21), await prepareSite(root, state, 'south', 22)];
    const agents = sites.map((s) => startAgent(s));
    procs.push(...agents);
    await Promise.all(agents.map((a) => a.waitFor(/connected to /, 120_000)));
    await new Promise((r) => setTimeout(r, 1000)); // a heartbeat or two after the hello
    const live = (await first.api('GET', '/api/console/sites')).body as SiteView[];
    await Promise.all(agents.map((a) => a.kill()));
    await first.proc.kill();

    const port = Number(new URL(first.url).port);
    const [, start, token] = reopenHelp(state, port).split('\n').map((line) => line.replace(/#.*/, '').trim().split(/\s+/).slice(2));
    const reopened = spawnCli(...start!);
    procs.push(reopened);
    const url = (await reopened.waitFor(/listening on (\S+)/))[1]!;
    assert.equal(url, first.url, 'reopened on the same port');
    const viewerToken = (await cli(...token!)).stdout.trim();
    const kept = (await (await fetch(`${url}/api/console/sites`, { headers: { authorization: `Bearer ${viewerToken}` } })).json()) as SiteView[];
    assert.deepEqual(kept.map((s) => s.name), ['north', 'south']);
    for (const site of kept) {
      const before = live.find((s) => s.name === site.name)!.presence;
      assert.equal(site.presence.connected, false);
      assert.ok(site.presence.lastHeartbeatAt! >= before.lastHeartbeatAt!, `${site.name}: last heartbeat kept`);
      assert.equal(site.presence.agentVersion, before.agentVersion);
      assert.deepEqual(site.presence.capabilities, before.capabilities);
      assert.deepEqual(site.presence.datasets, before.datasets);
      assert.equal(site.presence.datasets[0]!.caseCount, 6);
    }

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors = watchPageErrors(page);
    await page.goto(`${url}/console/`);
    await page.fill('#login-token', viewerToken);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('[data-site=north][data-state=offline]');
    for (const name of ['north', 'south']) {
      const card = page.locator(`[data-site=${name}]`);
      assert.match((await card.locator('.heartbeat').textContent())!, /^last \d+s ago$/);
      assert.match((await card.textContent())!, /lge: 6 cases/);
    }
    await screenshot(page, 'kept-state-sites');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
