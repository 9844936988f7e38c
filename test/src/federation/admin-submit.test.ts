import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, prepareSite, startAgent, startCoordinatorProcess, TINY_ARCH, type Proc, type RunningCoordinatorProcess, type SiteSetup } from './harness.js';

/**
 * `lgefed admin submit` against a real coordinator and two real agents: every job kind the study
 * uses, from the command line with its defaults, and specs the sites could not carry out refused
 * at submission rather than blamed on the sites.
 */
describe('lgefed admin submit: every study job kind from the CLI (real processes)', function () {
  this.timeout(600_000);
  let root = '';
  let coordinator: RunningCoordinatorProcess;
  const agents: Proc[] = [];
  const sites: SiteSetup[] = [];

  const submit = (...args: string[]) => cli('admin', 'submit', ...args, '--url', coordinator.url, '--token', coordinator.token, '--interval-ms', '200');
  /** The finished job a `--watch` submission printed the id of; fails with the whole job when it did not complete. */
  const completed = async (run: { code: number; stdout: string; stderr: string }) => {
    const job = (await coordinator.api('GET', `/api/jobs/${run.stdout.trim()}`)).body;
    assert.equal(run.code, 0, `${run.stderr}\n${JSON.stringify(job).slice(0, 3000)}`);
    assert.equal(job.status, 'completed');
    return job;
  };
  const jobCount = async () => ((await coordinator.api('GET', '/api/jobs')).body as unknown[]).length;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-submit-'));
    const state = join(root, 'coordinator');
    coordinator = await startCoordinatorProcess(state);
    for (const [i, name] of ['east', 'west'].entries()) sites.push(await prepareSite(root, state, name, 11 + i));
    for (const site of sites) agents.push(startAgent(site));
    await Promise.all(agents.map((a) => a.waitFor(/connected to /)));
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await coordinator?.proc.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('refuses at submission, with the reason, specs the sites cannot carry out; no job and no site refusal results', async () => {
    const before = await jobCount();
    const fedIterations = await coordinator.api('POST', '/api/jobs', { kind: 'fedavg', spec: { sites: ['east', 'west'], rounds: 1, architecture: TINY_ARCH, config: { iterations: 5 } } });
    assert.equal(fedIterations.status, 400);
    assert.match(fedIterations.body.error.message, /fedavg job spec: config must NOT have additional properties \(iterations\): .*localEpochs/);
    const noLength = await coordinator.api('POST', '/api/jobs', { kind: 'train', spec: { site: 'east', config: { seed: 1 } } });
    assert.equal(noLength.status, 400);
    assert.match(noLength.body.error.message, /config does not fit: .*exactly one of epochs and iterations/);
    const typo = await coordinator.api('POST', '/api/jobs', { kind: 'evaluate', spec: { sites: ['east'], models: [{ label: 'm', hash: 'emidec-unet-lite' }], minSite: 1 } });
    assert.equal(typo.status, 400);
    assert.match(typo.body.error.message, /must NOT have additional properties \(minSite\)/);

    const cliFed = await submit('fedavg', '--iterations', '5');
    assert.equal(cliFed.code, 2);
    assert.match(cliFed.stderr, /fedavg counts local work with --local-epochs/);
    const unknownModel = await submit('evaluate', '--models', 'mine=no-such-model');
    assert.equal(unknownModel.code, 1);
    assert.match(unknownModel.stderr, /\[invalid_argument\] models\[0\]\.hash: unknown model "no-such-model"/);
    const tooFine = await submit('evaluate', '--scales', '0.1');
    assert.equal(tooFine.code, 1);
    assert.match(tooFine.stderr, /\[invalid_argument\] evaluate job spec: inference\.scales\.0 must be >= 0\.25/);
    assert.equal(await jobCount(), before);
    const { body: siteViews } = await coordinator.api('GET', '/api/console/sites');
    for (const s of siteViews as { policy: { refusals: number } }[]) assert.equal(s.policy.refusals, 0, 'no site was blamed');
  });

  it("--recipe study sends the paper's network and training, shortened by --scale, and refuses flags it fixes (issue 14)", async () => {
    const clash = await submit('train', '--site', 'east', '--recipe', 'study', '--batch', '8');
    assert.equal(clash.code, 2);
    assert.match(clash.stderr, /--recipe study fixes --batch: leave them out/);
    const alone = await submit('train', '--site', 'east', '--scale', '0.5');
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /--scale applies to --recipe study only/);
    // The sites approve only the tiny test network, so they refuse this job: only its spec matters here.
    const study = await submit('train', '--site', 'east', '--recipe', 'study', '--scale', '0.04');
    assert.equal(study.code, 0, study.stderr);
    const job = (await coordinator.api('GET', `/api/jobs/${study.stdout.trim()}`)).body as { spec: { architecture: string; config: Record<string, unknown> } };
    assert.equal(job.spec.architecture, 'paper');
    assert.deepEqual(job.spec.config, { batchSize: 16, learningRate: 1e-3, augmentation: 'paper', epochs: 10 });
    await coordinator.api('POST', `/api/jobs/${study.stdout.trim()}/cancel`);
  });

  it('submits train, evaluate, finetune, fedavg and harmonisation-check, prints the id and follows each with --watch', async () => {
    const trained = await submit('train', '--site', 'east', '--scratch', '--architecture', TINY_ARCH, '--epochs', '1', '--seed', '4', '--watch');
    assert.match(trained.stdout.trim(), /^[0-9a-f-]{36}$/);
    const trainJob = await completed(trained);
    assert.deepEqual(trainJob.spec.config, { epochs: 1, seed: 4 });
    const model = trainJob.summary.model as string;

    // Sites default to every enrolled site; the coordinator's schema fills in the rest. The sites
    // score with the test-time passes asked for.
    const evaluated = await submit('evaluate', '--models', `east=${model}`, '--mirror', '--scales', '0.8,1.25', '--watch');
    const evaluation = await completed(evaluated);
    assert.deepEqual(evaluation.spec.inference, { mirror: true, scales: [0.8, 1.25] });
    assert.equal(evaluation.spec.siteIds.length, 2);
    assert.equal(evaluation.spec.limits.deadlineMs, 3600_000);
    assert.deepEqual(Object.keys(evaluation.summary.matrix.rows[0].sites).sort(), ['east', 'west']);

    const finetuned = await submit('finetune', '--model', model, '--architecture', TINY_ARCH, '--encoder-blocks', '1', '--fractions', '1', '--iterations', '2', '--watch');
    const finetune = await completed(finetuned);
    assert.deepEqual(finetune.rounds.map((r: { name: string }) => r.name), ['scratch/f=1', 'finetune/k=1/f=1']);
    assert.equal(finetune.spec.inference, null, 'one pass unless asked');

    // --case-count: every site trains on exactly that many of its (3) training cases.
    const federated = await submit('fedavg', '--rounds', '1', '--scratch', '--architecture', TINY_ARCH, '--no-local-baselines', '--seed', '2', '--case-count', '2', '--watch');
    const fedavg = await completed(federated);
    assert.equal(fedavg.spec.localEpochs, 1);
    assert.deepEqual(fedavg.spec.aggregation, { strategy: 'fedavg' });
    assert.equal(fedavg.spec.config.caseCount, 2);
    const participants = (fedavg.summary.rounds as { participants: { site: string; numExamples: number }[] }[])[0]!.participants;
    assert.deepEqual(participants.map((p) => [p.site, p.numExamples]).sort(), [['east', 2], ['west', 2]]);

    // The shipped model's reference intensity profile and ε = 1 by default.
    const checked = await submit('harmonisation-check', '--watch');
    const check = await completed(checked);
    assert.equal(check.spec.epsilon, 1);
    assert.deepEqual(check.summary.sites.map((s: { site: string }) => s.site).sort(), ['east', 'west']);
  });
});
