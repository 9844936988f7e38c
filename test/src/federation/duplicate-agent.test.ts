import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, prepareSite, startAgent, startCoordinatorProcess, TINY_ARCH, waitForJob, type Proc, type RunningCoordinatorProcess, type SiteSetup } from './harness.js';

/** A second agent started with the same kit and state (a copy left running, a double systemd unit). */
describe('a second agent for an already-connected site (real processes)', function () {
  this.timeout(300_000);
  let root = '';
  let coordinator: RunningCoordinatorProcess;
  let site: SiteSetup;
  const agents: Proc[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-duplicate-'));
    const state = join(root, 'coordinator');
    coordinator = await startCoordinatorProcess(state);
    site = await prepareSite(root, state, 'twice', 11);
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await coordinator?.proc.kill();
    await rm(root, { recursive: true, force: true });
  });

  const train = async (seed: number) => {
    const submitted = await coordinator.api('POST', '/api/jobs', { kind: 'train', spec: { site: 'twice', architecture: TINY_ARCH, initialModel: null, config: { epochs: 1, seed }, deadlineSeconds: 120 } });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    return waitForJob(coordinator, submitted.body.id);
  };

  it('refuses the second while the first is live, says so on both sides, and the second takes over once the first is gone', async () => {
    const first = startAgent(site);
    agents.push(first);
    await first.waitFor(/connected to /);
    const second = startAgent(site);
    agents.push(second);
    await second.waitFor(/coordinator refused the connection: \[site_already_connected\] site twice is already connected from \S+; a second agent with the same identity is refused while that one is live; retrying/);
    await coordinator.proc.waitFor(/refused a connection from \S+: site twice is already connected/);

    const sites = await cli('admin', 'sites', '--url', coordinator.url, '--token', coordinator.token);
    assert.equal(sites.code, 0, sites.stderr);
    assert.match(sites.stdout, /^twice\s+enrolled\s+yes\s.*site\.duplicate_refused: site twice is already connected/m);

    // The first agent is not disturbed: its messages are still accepted and it runs a job.
    const job = await train(1);
    assert.equal(job.status, 'completed', JSON.stringify(job).slice(0, 2000));
    assert.doesNotMatch(first.output, /REPLAY|disconnected/);

    // Once the first stops, the second connects by itself (its backoff is at most 10 s) and works.
    await first.kill();
    await second.waitFor(/connected to /, 60_000);
    const again = await train(2);
    assert.equal(again.status, 'completed', JSON.stringify(again).slice(0, 2000));
  });
});
