import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countingProblems, FAULTS, runFaultDrill, type DrillSettings } from '@lgefed/cli/demo/chaos';
import { connections, DemoFederation } from '@lgefed/cli/demo/federation';
import { exclusions, type FinishedJob } from '@lgefed/cli/demo/jobs';
import { prepareSites } from '@lgefed/cli/demo/sites';
import { QUICK } from '@lgefed/cli/demo/sizes';
import { modelId } from '@lgefed/shared/model/io';
import { initialWeights } from '@lgefed/shared/model/weights';
import { resolveArchitecture } from '@lgefed/site-agent/architecture';
import { writeTinyDataset } from '../federation/harness.js';

/**
 * A 4-stage lite U-Net (0.48 M parameters: a 1.8 MiB model, two chunks on the wire, so a transfer
 * can be cut part-way) on 16×16 crops of tiny images, so each round trains in seconds.
 */
const ARCH = 'lite:stages=4,inputSize=16';

describe('demo fault drills (real coordinator and agent processes)', function () {
  this.timeout(300_000);
  let root = '';
  let federation: DemoFederation;
  let settings: DrillSettings;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-chaos-'));
    const names = ['north', 'south', 'east'];
    // 8 cases: 3 to train on (the agent's default minimum for weights to leave), 5 to test (its minimum for metrics).
    await Promise.all(names.map((name, i) => writeTinyDataset(join(root, 'data', name), 8, 31 + i)));
    const sizes = { ...QUICK, architecture: ARCH, testFraction: 0.625 };
    const sites = await prepareSites({ runDir: root, dataRoot: join(root, 'data') }, names.map((name) => ({ name, dataDir: join(root, 'data', name) })), sizes, 1, () => undefined);
    const spec = resolveArchitecture(ARCH);
    const weights = initialWeights(spec, 7);
    federation = await DemoFederation.start(
      { stateDir: join(root, 'coordinator'), sites, pretrained: { model: { weights, id: modelId(spec, weights) }, architecture: ARCH }, heartbeatSeconds: 0.3, startTimeoutMs: 120_000 },
      () => undefined,
    );
    settings = {
      architecture: ARCH,
      initialModel: federation.pretrainedHash,
      config: { epochs: 1, seed: 1, batchSize: 4, learningRate: 1e-3 },
      deadlineSeconds: 120,
      modelBytes: weights.reduce((n, t) => n + t.data.length, 0) * 4,
      timeoutMs: 240_000,
    };
  });
  after(async () => {
    await federation?.close();
    await rm(root, { recursive: true, force: true });
  });

  const participantsOf = (job: FinishedJob) => job.rounds.map((r) => ((r.outcome as { participants?: { site: string }[] } | null)?.participants ?? []).map((p) => p.site).sort());

  it('a site killed mid-round and restarted: the round completes with it, counted once', async () => {
    const victim = federation.sites.at(-1)!;
    const { summary, job } = await runFaultDrill(federation, 'site-killed-mid-round', settings);
    assert.ok(summary.passed, summary.detail);
    assert.equal(job.status, 'completed', `${job.failure ?? ''} ${JSON.stringify(exclusions(job))}`);
    assert.deepEqual(participantsOf(job), [['east', 'north', 'south']]);
    assert.ok(connections(victim.agent) >= 1 && !victim.agent.output.includes('generated the site key'), 'the restarted agent reused its key');
  });

  it('the coordinator killed after round 1 of 2 and restarted: round 1 is kept as it was, round 2 completes', async () => {
    const before = federation.coordinator;
    const { summary, job } = await runFaultDrill(federation, 'coordinator-killed-mid-job', settings);
    assert.notEqual(federation.coordinator, before);
    assert.ok(summary.passed, summary.detail);
    assert.equal(job.status, 'completed', `${job.failure ?? ''} ${JSON.stringify(exclusions(job))}`);
    assert.deepEqual(participantsOf(job), [['east', 'north', 'south'], ['east', 'north', 'south']]);
  });

  it('the coordinator killed during a multi-model evaluation and restarted: every model is scored at every site, none lost (issue 13, medium 9)', async () => {
    const { summary, job } = await runFaultDrill(federation, 'coordinator-killed-mid-evaluation', settings);
    assert.ok(summary.passed, summary.detail);
    assert.equal(job.status, 'completed', `${job.failure ?? ''} ${JSON.stringify(exclusions(job))}`);
    const matrix = job.rounds.find((r) => r.name === 'evaluate')!.outcome as { rows: { model: string; sites: Record<string, unknown> }[] };
    // The federated model and each site's local baseline, scored at all three sites.
    assert.deepEqual(matrix.rows.map((r) => Object.keys(r.sites).sort()), new Array(4).fill(['east', 'north', 'south']));
  });

  it('a site frozen past its deadline is excluded with the reason; its late result does not count', async () => {
    const { summary, job } = await runFaultDrill(federation, 'site-delayed-past-deadline', { ...settings, deadlineSeconds: 60 });
    assert.ok(summary.passed, summary.detail);
    assert.equal(job.status, 'completed', `${job.failure ?? ''} ${JSON.stringify(exclusions(job))}`);
    assert.deepEqual(participantsOf(job), [['north', 'south']]);
    const excluded = job.view.rounds[0]!.tasks.find((t) => t.site === 'east')!;
    assert.equal(excluded.status, 'excluded');
    assert.match(excluded.excludedReason ?? '', /deadline/);
  });

  it('a tampered message is rejected and logged; the job completes with every site', async () => {
    const { summary, job } = await runFaultDrill(federation, 'tampered-message', settings);
    assert.ok(summary.passed, summary.detail);
    assert.match(summary.detail, /rejected \(BAD_SIGNATURE\) [1-9]/);
    assert.equal(job.status, 'completed', `${job.failure ?? ''} ${JSON.stringify(exclusions(job))}`);
    assert.deepEqual(participantsOf(job), [['east', 'north', 'south']]);
  });

  it('a connection cut during the model transfer: the agent reconnects and the round completes with it', async () => {
    const victim = federation.sites.at(-1)!;
    const cuts = victim.link.cuts;
    const { summary, job } = await runFaultDrill(federation, 'disconnect-during-model-transfer', settings);
    assert.equal(victim.link.cuts, cuts + 1);
    assert.ok(summary.passed, summary.detail);
    assert.equal(job.status, 'completed', `${job.failure ?? ''} ${JSON.stringify(exclusions(job))}`);
    assert.deepEqual(participantsOf(job), [['east', 'north', 'south']]);
  });

  it('covers every fault the demo injects', () => {
    assert.deepEqual([...FAULTS].sort(), ['coordinator-killed-mid-evaluation', 'coordinator-killed-mid-job', 'disconnect-during-model-transfer', 'site-delayed-past-deadline', 'site-killed-mid-round', 'tampered-message']);
  });
});

describe('demo fault checks', () => {
  const job = (participants: string[], completed: string[]): FinishedJob =>
    ({
      label: 'x',
      rounds: [{ jobId: 'j', roundNo: 0, name: 'federated-1', minSites: 1, status: 'completed', outcome: { participants: participants.map((site) => ({ site, numExamples: 1 })) } }],
      view: { rounds: [{ roundNo: 0, name: 'federated-1', status: 'completed', tasks: completed.map((site) => ({ site, status: 'completed' })) }] },
    }) as unknown as FinishedJob;

  it('finds a result counted twice, a lost result and a result without a task', () => {
    assert.deepEqual(countingProblems(job(['a', 'b'], ['a', 'b'])), []);
    assert.match(countingProblems(job(['a', 'a', 'b'], ['a', 'b'])).join(), /counted twice/);
    assert.match(countingProblems(job(['a'], ['a', 'b'])).join(), /b's finished result is missing/);
    assert.match(countingProblems(job(['a', 'c'], ['a'])).join(), /c counted without a completed task/);
  });
});
