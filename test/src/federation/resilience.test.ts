import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareSite, startAgent, startCoordinatorProcess, TINY_ARCH, waitForJob, type Proc, type RunningCoordinatorProcess } from './harness.js';

describe('federation under failures (real processes)', function () {
  this.timeout(180_000);
  let root = '';
  let state = '';
  let coordinator: RunningCoordinatorProcess;
  const agents = new Map<string, Proc>();

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-res-'));
    state = join(root, 'coordinator');
    coordinator = await startCoordinatorProcess(state);
    for (const [i, name] of ['a', 'b', 'c'].entries()) {
      const agent = startAgent(await prepareSite(root, state, name, 21 + i));
      agents.set(name, agent);
    }
    await Promise.all([...agents.values()].map((a) => a.waitFor(/connected to /)));
  });
  after(async () => {
    await Promise.all([...agents.values()].map((a) => a.kill()));
    await coordinator?.proc.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('completes a round without a site killed mid-round, recording why it was excluded', async () => {
    const submitted = await coordinator.api('POST', '/api/jobs', {
      kind: 'fedavg',
      spec: { sites: ['a', 'b', 'c'], rounds: 1, localEpochs: 1, minSites: 2, compareWithLocal: false, architecture: TINY_ARCH, config: { seed: 1 }, deadlineSeconds: 45, maxAttempts: 1 },
    });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    await agents.get('c')!.kill('SIGKILL');
    const job = await waitForJob(coordinator, submitted.body.id);
    assert.equal(job.status, 'completed', JSON.stringify(job).slice(0, 2000));
    const outcome = job.rounds[0].outcome;
    assert.deepEqual(outcome.participants.map((p: { site: string }) => p.site).sort(), ['a', 'b']);
    assert.equal(outcome.excluded[0].site, 'c');
    assert.match(outcome.excluded[0].reason, /deadline/);
  });

  it('finishes a job after the coordinator is killed mid-job and restarted; agents reconnect', async () => {
    const submitted = await coordinator.api('POST', '/api/jobs', { kind: 'train', spec: { site: 'a', architecture: TINY_ARCH, config: { epochs: 3, seed: 2 }, deadlineSeconds: 120 } });
    assert.equal(submitted.status, 200);
    await coordinator.proc.kill('SIGKILL');
    const port = new URL(coordinator.url).port;
    coordinator = await startCoordinatorProcess(state, Number(port));
    const job = await waitForJob(coordinator, submitted.body.id);
    assert.equal(job.status, 'completed', JSON.stringify(job).slice(0, 2000));
    assert.match(job.rounds[0].outcome.model, /^[0-9a-f]{64}$/);
    assert.ok((agents.get('a')!.output.match(/connected to /g) ?? []).length >= 2);
  });

  it('excludes a slow site once it is past its deadline', async () => {
    const submitted = await coordinator.api('POST', '/api/jobs', { kind: 'train', spec: { site: 'b', architecture: TINY_ARCH, config: { epochs: 500, seed: 3 }, deadlineSeconds: 2, maxAttempts: 1 } });
    assert.equal(submitted.status, 200);
    const job = await waitForJob(coordinator, submitted.body.id);
    assert.equal(job.status, 'failed');
    assert.match(JSON.stringify(job.rounds[0].outcome), /deadline/);
  });
});
