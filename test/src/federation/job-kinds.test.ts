import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReferenceProfile } from '@lgefed/shared/harmonise/index';
import { loadDataset } from '@lgefed/shared/imaging/dataset';
import { selectCases } from '@lgefed/shared/workflows/split';
import { trainSegmentation } from '@lgefed/shared/workflows/train';
import { resolveArchitecture } from '@lgefed/site-agent/architecture';
import { readAgentAudit } from '@lgefed/site-agent/audit-log';
import { prepareSite, startAgent, startCoordinatorProcess, TINY_ARCH, waitForJob, writeTinyDataset, type Proc, type RunningCoordinatorProcess, type SiteSetup } from './harness.js';

/**
 * The job kinds beyond train/evaluate, end to end over real coordinator and agent processes:
 * FedProx rounds with an augmentation preset, the fine-tune sweep (scores only come back) and the
 * DP harmonisation check, with one site's policy refusing the ε asked for.
 */
describe('federation: every job kind over the wire (real processes)', function () {
  this.timeout(600_000);
  let root = '';
  let coordinator: RunningCoordinatorProcess;
  const agents: Proc[] = [];
  const sites: SiteSetup[] = [];
  let strict: SiteSetup;
  let pretrained = '';

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-kinds-'));
    const state = join(root, 'coordinator');
    coordinator = await startCoordinatorProcess(state);
    for (const [i, name] of ['north', 'south'].entries()) sites.push(await prepareSite(root, state, name, 11 + i));
    strict = await prepareSite(root, state, 'strict', 31, { maxHistogramEpsilon: 0.1 });
    for (const site of [...sites, strict]) agents.push(startAgent(site));
    await Promise.all(agents.map((a) => a.waitFor(/connected to /)));
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await coordinator?.proc.kill();
    await rm(root, { recursive: true, force: true });
  });

  const run = async (kind: string, spec: Record<string, unknown>) => {
    const submitted = await coordinator.api('POST', '/api/jobs', { kind, spec: { deadlineSeconds: 300, ...spec } });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    return waitForJob(coordinator, submitted.body.id, 500_000);
  };

  it('runs a FedProx round (μ and the augmentation preset travel to the sites) and aggregates', async () => {
    const job = await run('fedavg', {
      sites: sites.map((s) => s.name),
      rounds: 1,
      localEpochs: 1,
      architecture: TINY_ARCH,
      aggregation: { strategy: 'fedprox', mu: 0.01 },
      config: { seed: 5, batchSize: 4, augmentation: 'spatial' },
    });
    assert.equal(job.status, 'completed', JSON.stringify(job).slice(0, 3000));
    const federated = job.rounds.find((r: { name: string }) => r.name === 'federated-1').outcome;
    assert.equal(federated.participants.length, 2);
    pretrained = federated.model;
    assert.match(pretrained, /^[0-9a-f]{64}$/);
  });

  it('runs the fine-tune sweep (k ∈ {1, all} × fractions {0.5, 1}, scratch baselines): only scores come back', async () => {
    const job = await run('finetune', {
      sites: sites.map((s) => s.name),
      architecture: TINY_ARCH,
      pretrainedModel: pretrained,
      encoderBlocks: [1, 2],
      dataFractions: [0.5, 1],
      scratchBaselines: true,
      config: { epochs: 1, seed: 2, batchSize: 4, augmentation: 'none' },
    });
    assert.equal(job.status, 'completed', JSON.stringify(job).slice(0, 3000));
    assert.deepEqual(
      job.rounds.map((r: { name: string }) => r.name),
      ['scratch/f=0.5', 'finetune/k=1/f=0.5', 'finetune/k=2/f=0.5', 'scratch/f=1', 'finetune/k=1/f=1', 'finetune/k=2/f=1'],
    );
    for (const round of job.rounds) {
      assert.deepEqual(Object.keys(round.outcome.sites).sort(), ['north', 'south'], round.name);
      for (const site of Object.values(round.outcome.sites) as { trainCases: number; dice: Record<string, { mean: number; n: number }> }[]) {
        assert.ok(site.trainCases >= 1);
        for (const s of ['bloodpool', 'myocardium']) assert.ok(site.dice[s]!.n >= 1 && site.dice[s]!.mean >= 0 && site.dice[s]!.mean <= 1);
      }
    }
    // Half the training cases at f = 0.5, all of them at f = 1.
    const used = (name: string) => (job.rounds.find((r: { name: string }) => r.name === name).outcome.sites.north.trainCases as number);
    assert.ok(used('finetune/k=1/f=0.5') < used('finetune/k=1/f=1'));
    assert.equal(job.summary.table.length, 4); // 2 fractions × 2 structures
    for (const site of sites) {
      const audit = await readAgentAudit(join(site.dir, 'state', 'audit.jsonl'));
      assert.equal(audit.filter((e) => e.type === 'FineTuneResult').length, 6, `${site.name} answers every variant with scores`);
      // The fine-tuned weights stayed: uploads happened only for the FedProx rounds (baseline + federated).
      assert.equal(audit.filter((e) => e.type === 'TrainResult').length, 2);
    }
  });

  it('runs a harmonisation check: DP reports with W1/JS distances; the site whose policy caps ε lower refuses', async () => {
    const referenceImages = await writeTinyDataset(join(root, 'reference'), 3, 77);
    const reference = buildReferenceProfile(referenceImages, { bins: 16 });
    const job = await run('harmonisation-check', { sites: [...sites, strict].map((s) => s.name), minSites: 2, reference, epsilon: 0.5 });
    assert.equal(job.status, 'completed', JSON.stringify(job).slice(0, 3000));
    const outcome = job.summary;
    assert.deepEqual(outcome.sites.map((s: { site: string }) => s.site).sort(), ['north', 'south']);
    for (const s of outcome.sites) {
      assert.equal(s.epsilon, 0.5);
      assert.equal(s.imagesProfiled, 6);
      assert.ok(s.wasserstein1 >= 0 && s.jensenShannon >= 0);
    }
    assert.equal(outcome.excluded.length, 1);
    assert.equal(outcome.excluded[0].site, 'strict');
    assert.match(outcome.excluded[0].reason, /policy_epsilon/);
    const strictAudit = await readAgentAudit(join(strict.dir, 'state', 'audit.jsonl'));
    assert.ok(!strictAudit.some((e) => e.type === 'HarmonisationReport'), 'the refusing site released no histogram');
    const report = (await readAgentAudit(join(sites[0]!.dir, 'state', 'audit.jsonl'))).filter((e) => e.type === 'HarmonisationReport');
    assert.equal(report.length, 1);
  });

  it('trains at one site exactly as the local training workflow does with the same seed', async () => {
    const site = sites[0]!;
    const config = { epochs: 2, seed: 9, batchSize: 4, augmentation: 'paper' };
    const job = await run('train', { site: site.name, architecture: TINY_ARCH, initialModel: null, config });
    assert.equal(job.status, 'completed', JSON.stringify(job).slice(0, 3000));
    const federated = job.rounds[0].outcome.metrics as { epochs: number; loss: number };
    assert.equal(federated.epochs, 2);

    // The same computation on this machine: the agent's fixed train split, the same seed and backend.
    const split = JSON.parse(await readFile(join(site.dir, 'state', 'split-lge.json'), 'utf8')) as { cases: Record<string, string> };
    const dataset = await loadDataset(join(site.dir, 'data'), { layout: 'nifti-pairs' });
    const train = dataset.cases.filter((c) => split.cases[c.id] === 'train' && c.label);
    const local = await trainSegmentation({
      spec: resolveArchitecture(TINY_ARCH),
      cases: selectCases(train, { fraction: 1 }, config.seed),
      augmentation: config.augmentation,
      batchSize: config.batchSize,
      epochs: config.epochs,
      seed: config.seed,
      backend: 'cpu',
    });
    const lastEpoch = local.losses.slice(-local.iterationsPerEpoch);
    const localLoss = lastEpoch.reduce((a, b) => a + b, 0) / lastEpoch.length;
    // The wire carries the loss as float32.
    assert.ok(Math.abs(federated.loss - localLoss) <= 1e-6 * Math.max(1, Math.abs(localLoss)), `federated ${federated.loss} vs local ${localLoss}`);
  });
});
