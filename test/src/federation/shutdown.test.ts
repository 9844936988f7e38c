import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareSite, startAgent, startCoordinatorProcess, TINY_ARCH, type Proc, type RunningCoordinatorProcess, freePort } from './harness.js';

/** systemd's `stop`: SIGTERM to a coordinator with agents connected and a job running. */
describe('coordinator shutdown on SIGTERM with agents connected (real processes)', function () {
  this.timeout(300_000);
  let root = '';
  let coordinator: RunningCoordinatorProcess | undefined;
  let agent: Proc | undefined;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-shutdown-'));
  });
  after(async () => {
    await agent?.kill();
    await coordinator?.proc.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });

  it('stops taking work, closes the sockets and exits within a few seconds; a restart resumes the job', async () => {
    const state = join(root, 'coordinator');
    const port = await freePort();
    coordinator = await startCoordinatorProcess(state, port);
    const site = await prepareSite(root, state, 'busy', 5);
    agent = startAgent(site);
    await agent.waitFor(/connected to /);
    const submitted = await coordinator.api('POST', '/api/jobs', { kind: 'train', spec: { site: 'busy', architecture: TINY_ARCH, initialModel: null, config: { epochs: 2000, seed: 1 }, deadlineSeconds: 600 } });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    for (let busy = false; !busy; await new Promise((r) => setTimeout(r, 100))) {
      const { body } = await coordinator.api('GET', '/api/console/sites');
      busy = (body as { presence?: { activeTaskIds: string[] } }[])[0]?.presence?.activeTaskIds.length === 1;
    }

    const started = Date.now();
    const code = await coordinator.proc.kill('SIGTERM');
    const seconds = (Date.now() - started) / 1000;
    assert.equal(code, 0, coordinator.proc.output);
    assert.ok(seconds < 5, `exited after ${seconds.toFixed(1)} s`);
    assert.match(coordinator.proc.output, /stopping \(SIGTERM\)/);
    assert.match(coordinator.proc.output, /coordinator stopped/);
    await assert.rejects(fetch(`${coordinator.url}/api/jobs`), 'the API is gone with the process');

    // The job was recorded before it ran: a restarted coordinator continues it and the agent comes back.
    const mark = agent.output.length;
    coordinator = await startCoordinatorProcess(state, port);
    const job = (await coordinator.api('GET', `/api/jobs/${submitted.body.id}`)).body;
    assert.equal(job.status, 'running');
    const deadline = Date.now() + 60_000;
    while (!/connected to /.test(agent.output.slice(mark))) {
      assert.ok(Date.now() < deadline, `agent did not reconnect:\n${agent.output.slice(mark)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
});
