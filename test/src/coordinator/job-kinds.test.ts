import assert from 'node:assert/strict';
import { buildReferenceProfile, wasserstein1, type ReferenceIntensityProfile } from '@lgefed/shared/harmonise/index';
import { releaseIntensityHistogram } from '@lgefed/site-agent/privacy/histogram-release';
import { FINETUNE_LEARNING_RATE } from '@lgefed/shared/workflows/finetune-defaults';
import type { CoordinatorState } from '@lgefed/coordinator/state';
import type { EvaluateTaskPayload, FinetuneTaskPayload, HarmonisationCheckTaskPayload, TaskMessage } from '@lgefed/coordinator/workflow/index';
import { encodeWeights, decodeWeights } from '@lgefed/protocol/weights-file';
import { readFile } from 'node:fs/promises';
import { ARCH, enrolSites, InboxTransport, LAYOUT, ManualClock, openEngine, PARAMS, registerModels, simulatedTraining } from './federation-harness.js';
import { useTempDir } from './temp-dir.js';
import { seededRandomInt, seededUniform } from './seeded-uniform.js';

/** Synthetic scanner images: uniform signal raised to `gamma` (a non-linear contrast change that normalisation cannot undo). */
function images(seed: number, gamma: number, count = 3, size = 64 * 64): Float32Array[] {
  const rng = seededUniform(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: size }, () => 1 + 1000 * rng() ** gamma));
}

async function setup(dir: string, sites: readonly string[]) {
  const transport = new InboxTransport();
  const { state, engine } = await openEngine(dir, new ManualClock(), transport);
  const ids = await enrolSites(state, sites);
  return { state, engine, transport, ids };
}

function onlyTask(transport: InboxTransport, siteId: string): TaskMessage {
  const tasks = transport.take(siteId);
  assert.equal(tasks.length, 1);
  return tasks[0]!;
}

const resultCount = (state: CoordinatorState) => (state.db.prepare('SELECT COUNT(*) AS n FROM results').get() as { n: number }).n;

describe('coordinator: harmonisation-check and finetune jobs, result validation', () => {
  const dir = useTempDir();

  it('harmonisation-check: per-site distances to the reference from DP-noised histograms, flags the odd scanner, excludes a malformed report', async () => {
    const { state, engine, transport, ids } = await setup(dir(), ['dijon', 'leeds', 'oslo', 'turin']);
    const reference = buildReferenceProfile(images(1, 1), { bins: 32 });
    const job = await engine.submit('harmonisation-check', { sites: ['dijon', 'leeds', 'oslo', 'turin'], reference, epsilon: 50, flagWasserstein: 0.08, minSites: 2 }, 'admin');
    const reports = new Map<string, ReturnType<typeof releaseIntensityHistogram>>();
    for (const [name, gamma] of [['dijon', 1], ['leeds', 1.1], ['oslo', 3]] as const) {
      const task = onlyTask(transport, ids.get(name)!);
      const payload = task.payload as unknown as HarmonisationCheckTaskPayload;
      assert.equal(payload.epsilon, 50);
      const report = releaseIntensityHistogram(images(10 + gamma * 7, gamma), payload.reference, payload.epsilon, seededRandomInt(99));
      reports.set(name, report);
      assert.equal(await engine.handleResult(ids.get(name)!, { resultId: `r-${name}`, taskId: task.taskId, metrics: report as never, numExamples: 3 }), 'accepted');
    }
    // Turin bins its histogram differently: the report is refused, the round goes on without it.
    const turin = onlyTask(transport, ids.get('turin')!);
    const release = releaseIntensityHistogram(images(5, 1), reference, 50, seededRandomInt(3));
    const wrongBins = { ...release, histogram: { ...release.histogram, counts: release.histogram.counts.slice(0, 16) } };
    assert.equal(await engine.handleResult(ids.get('turin')!, { resultId: 'r-turin', taskId: turin.taskId, metrics: wrongBins as never, numExamples: 3 }), 'rejected');

    const done = state.jobs.job(job.id);
    assert.equal(done.status, 'completed', done.failure ?? '');
    const summary = done.summary as { sites: { site: string; wasserstein1: number; flagged: boolean; epsilon: number }[]; flagged: string[]; pairwise: unknown[]; excluded: { site: string; reason: string }[] };
    assert.deepEqual(summary.sites.map((s) => s.site), ['oslo', 'leeds', 'dijon'], 'sorted farthest first');
    const oslo = summary.sites[0]!;
    assert.ok(Math.abs(oslo.wasserstein1 - wasserstein1(reports.get('oslo')!.histogram, reference.histogram)) < 1e-12);
    assert.deepEqual(summary.flagged, ['oslo']);
    assert.equal(summary.pairwise.length, 3);
    assert.equal(summary.excluded[0]!.site, 'turin');
    assert.match(summary.excluded[0]!.reason, /malformed result: histograms binned differently/);
    assert.equal(state.audit.list({ type: 'result.rejected' }).length, 1);
    state.close();
  });

  it('harmonisation-check: refuses a bad reference and a report that spends more privacy than allowed', async () => {
    const { state, engine, transport, ids } = await setup(dir(), ['dijon']);
    const reference = buildReferenceProfile(images(1, 1), { bins: 32 });
    const broken: ReferenceIntensityProfile = { ...reference, histogram: { ...reference.histogram, counts: reference.histogram.counts.map(() => -1) } };
    await assert.rejects(engine.submit('harmonisation-check', { sites: ['dijon'], reference: broken, epsilon: 1 }, 'admin'), { code: 'invalid_argument', message: /reference\.histogram/ });
    await assert.rejects(engine.submit('harmonisation-check', { sites: ['dijon'], reference, epsilon: 0 }, 'admin'), { code: 'invalid_argument', message: /epsilon/ });
    const job = await engine.submit('harmonisation-check', { sites: ['dijon'], reference, epsilon: 1 }, 'admin');
    const task = onlyTask(transport, ids.get('dijon')!);
    const greedy = releaseIntensityHistogram(images(2, 1), reference, 5, seededRandomInt(4));
    assert.equal(await engine.handleResult(ids.get('dijon')!, { resultId: 'r1', taskId: task.taskId, metrics: greedy as never, numExamples: 3 }), 'rejected');
    const failed = state.jobs.job(job.id);
    assert.equal(failed.status, 'failed');
    const round = state.jobs.rounds(job.id)[0]!.outcome as { excluded: { reason: string }[] };
    assert.match(round.excluded[0]!.reason, /privacy\.epsilon must be in \(0, 1\]/);
    state.close();
  });

  it('finetune: runs blocks × fraction with scratch baselines, one round per variant, and tables fine-tuned vs scratch', async () => {
    const sites = ['dijon', 'leeds'] as const;
    const { state, engine, transport, ids } = await setup(dir(), sites);
    const pretrained = 'b'.repeat(64);
    registerModels(state, pretrained);
    const job = await engine.submit(
      'finetune',
      { sites: [...sites], architecture: ARCH, pretrainedModel: pretrained, encoderBlocks: [3, 1], dataFractions: [1, 0.25], config: { epochs: 2, seed: 5 }, minSites: 1 },
      'admin',
    );
    // Simulated site: fine-tuning beats scratch and more trainable blocks help with more data.
    const dice = (p: FinetuneTaskPayload, site: string) =>
      (p.initialModel === null ? 0.6 : 0.7 + 0.02 * p.freeze!.trainEncoderBlocks!) * (0.8 + 0.2 * p.dataFraction) - (site === 'leeds' ? 0.05 : 0);
    const seen: { name: string; payload: FinetuneTaskPayload }[] = [];
    for (let round = 0; round < 6; round++) {
      for (const site of sites) {
        const task = onlyTask(transport, ids.get(site)!);
        const payload = task.payload as unknown as FinetuneTaskPayload;
        if (site === 'dijon') seen.push({ name: state.jobs.rounds(job.id).at(-1)!.name, payload });
        const trainCases = Math.max(1, Math.round(20 * payload.dataFraction));
        const d = dice(payload, site);
        const malformed = site === 'leeds' && round === 2; // Dice above 1: excluded from that variant only.
        const metrics = { trainCases, dice: { bloodpool: { n: 8, mean: malformed ? 1.7 : d, sd: 0.02 }, myocardium: { n: 8, mean: d - 0.1, sd: 0.03 } } };
        const outcome = await engine.handleResult(ids.get(site)!, { resultId: `${task.taskId}-${site}`, taskId: task.taskId, metrics, numExamples: trainCases });
        assert.equal(outcome, malformed ? 'rejected' : 'accepted');
      }
    }
    assert.deepEqual(seen.map((s) => s.name), ['scratch/f=0.25', 'finetune/k=1/f=0.25', 'finetune/k=3/f=0.25', 'scratch/f=1', 'finetune/k=1/f=1', 'finetune/k=3/f=1']);
    assert.equal(seen[0]!.payload.initialModel, null);
    assert.equal(seen[0]!.payload.freeze, null);
    assert.deepEqual(seen[2]!.payload.freeze, { trainEncoderBlocks: 3 });
    assert.equal(seen[2]!.payload.initialModel, pretrained);
    assert.deepEqual(seen[2]!.payload.evaluation, { split: 'test', metric: 'dice' });
    // Fine-tunes start at the fine-tuning rate; scratch baselines keep the agent's training default.
    assert.deepEqual(seen[0]!.payload.config, { epochs: 2, seed: 5 });
    assert.deepEqual(seen[2]!.payload.config, { epochs: 2, seed: 5, learningRate: FINETUNE_LEARNING_RATE });

    const done = state.jobs.job(job.id);
    assert.equal(done.status, 'completed', done.failure ?? '');
    type Row = { dataFraction: number; structure: string; scratch: number; best: { trainEncoderBlocks: number; mean: number; gainOverScratch: number } };
    const summary = done.summary as { table: Row[]; perSite: Record<string, Row[]>; variants: { variant: { name: string }; excluded: { site: string; reason: string }[] }[] };
    const fullBloodpool = summary.table.find((r) => r.dataFraction === 1 && r.structure === 'bloodpool')!;
    const expectedBest = (dice({ initialModel: pretrained, freeze: { trainEncoderBlocks: 3 }, dataFraction: 1 } as FinetuneTaskPayload, 'dijon') + dice({ initialModel: pretrained, freeze: { trainEncoderBlocks: 3 }, dataFraction: 1 } as FinetuneTaskPayload, 'leeds')) / 2;
    assert.equal(fullBloodpool.best.trainEncoderBlocks, 3);
    assert.ok(Math.abs(fullBloodpool.best.mean - expectedBest) < 1e-12);
    assert.ok(Math.abs(fullBloodpool.best.gainOverScratch - (expectedBest - (0.6 - 0.025))) < 1e-12);
    // Leeds's malformed answer to k=3, f=0.25 left only Dijon in that variant; the reason is on record.
    const k3 = summary.variants.find((v) => v.variant.name === 'finetune/k=3/f=0.25')!;
    assert.equal(k3.excluded[0]!.site, 'leeds');
    assert.match(k3.excluded[0]!.reason, /mean must be a Dice score/);
    const dijonQuarter = summary.perSite['dijon']!.find((r) => r.dataFraction === 0.25 && r.structure === 'bloodpool')!;
    assert.ok(Math.abs(dijonQuarter.best.mean - dice({ initialModel: pretrained, freeze: { trainEncoderBlocks: 3 }, dataFraction: 0.25 } as FinetuneTaskPayload, 'dijon')) < 1e-12);
    state.close();
  });

  it('finetune: refuses specs that would train nothing, name bad fractions or an unknown network', async () => {
    const { state, engine } = await setup(dir(), ['dijon']);
    registerModels(state, 'b'.repeat(64));
    const base = { sites: ['dijon'], architecture: ARCH, pretrainedModel: 'b'.repeat(64), encoderBlocks: [1], dataFractions: [0.5] };
    await assert.rejects(engine.submit('finetune', { ...base, architecture: 'toy-unet' }, 'admin'), { code: 'invalid_argument', message: /unknown architecture "toy-unet"/ });
    await assert.rejects(engine.submit('finetune', { ...base, encoderBlocks: [0] }, 'admin'), { code: 'invalid_argument', message: /nothing to train/ });
    await assert.rejects(engine.submit('finetune', { ...base, dataFractions: [0] }, 'admin'), { code: 'invalid_argument', message: /dataFractions/ });
    await assert.rejects(engine.submit('finetune', { ...base, dataFractions: [0.5, 0.5] }, 'admin'), { code: 'invalid_argument', message: /dataFractions must NOT have duplicate items/ });
    state.close();
  });

  it('refuses malformed deliveries with a typed error and stores nothing; the task stays open for a good answer', async () => {
    const { state, engine, transport, ids } = await setup(dir(), ['dijon']);
    registerModels(state, 'a'.repeat(64));
    await engine.submit('evaluate', { sites: ['dijon'], models: [{ label: 'm', hash: 'a'.repeat(64) }] }, 'admin');
    const task = onlyTask(transport, ids.get('dijon')!);
    const good = { m: { bloodpool: { n: 5, mean: 0.9, sd: 0.1 }, myocardium: { n: 5, mean: 0.8, sd: 0.1 } } };
    const site = ids.get('dijon')!;
    await assert.rejects(engine.handleResult(site, { resultId: 'r', taskId: task.taskId, metrics: { m: { bloodpool: { n: 5, mean: NaN, sd: 0 } } } as never, numExamples: 5 }), { code: 'invalid_argument', message: /finite/ });
    await assert.rejects(engine.handleResult(site, { resultId: 'r', taskId: task.taskId, metrics: good, numExamples: -1 }), { code: 'invalid_argument', message: /numExamples/ });
    await assert.rejects(engine.handleResult(site, { resultId: '', taskId: task.taskId, metrics: good, numExamples: 5 }), { code: 'invalid_argument', message: /resultId/ });
    await assert.rejects(engine.handleResult(site, { resultId: 'r', taskId: task.taskId, metrics: { blob: 'x'.repeat(300 * 1024) }, numExamples: 5 }), { code: 'invalid_argument', message: /bytes/ });
    await assert.rejects(engine.handleResult(site, null as never), { code: 'invalid_argument' });
    assert.equal(resultCount(state), 0);
    assert.equal(state.jobs.task(task.taskId)!.status, 'dispatched');
    assert.equal(await engine.handleResult(site, { resultId: 'r', taskId: task.taskId, metrics: good, numExamples: 5 }), 'accepted');
    assert.equal(resultCount(state), 1);
    state.close();
  });

  it('evaluate and finetune hand each site the test-time passes the job names; bad ones are refused at submission', async () => {
    const { state, engine, transport, ids } = await setup(dir(), ['dijon']);
    registerModels(state, '1'.repeat(64));
    const models = [{ label: 'm', hash: '1'.repeat(64) }];
    await engine.submit('evaluate', { sites: ['dijon'], models, inference: { scales: [0.833, 1, 1.167] } }, 'admin');
    const evaluation = onlyTask(transport, ids.get('dijon')!).payload as unknown as EvaluateTaskPayload;
    assert.deepEqual(evaluation.inference, { mirror: false, scales: [0.833, 1, 1.167] }, 'mirror defaults to false');
    for (const inference of [{ scales: [] }, { scales: [0.1] }, { scales: Array.from({ length: 9 }, () => 1) }, { mirror: 'yes' }, { passes: 3 }]) {
      await assert.rejects(engine.submit('evaluate', { sites: ['dijon'], models, inference }, 'admin'), { code: 'invalid_argument', message: /inference/ });
    }
    const finetune = { sites: ['dijon'], architecture: ARCH, pretrainedModel: '1'.repeat(64), encoderBlocks: [1], dataFractions: [1], scratchBaselines: false };
    await engine.submit('finetune', finetune, 'admin');
    assert.deepEqual((onlyTask(transport, ids.get('dijon')!).payload as unknown as FinetuneTaskPayload).evaluation, { split: 'test', metric: 'dice' });
    await engine.submit('finetune', { ...finetune, inference: { mirror: true } }, 'admin');
    assert.deepEqual((onlyTask(transport, ids.get('dijon')!).payload as unknown as FinetuneTaskPayload).evaluation, { split: 'test', metric: 'dice', inference: { mirror: true } });
    state.close();
  });

  it('evaluate ends with single- vs multi-centre: each site’s own model at home against the multi-centre model', async () => {
    const sites = ['dijon', 'leeds'] as const;
    const { state, engine, transport, ids } = await setup(dir(), sites);
    const models = [
      { label: 'dijon-only', hash: '1'.repeat(64), trainedAt: ['dijon'] },
      { label: 'leeds-only', hash: '2'.repeat(64), trainedAt: ['leeds'] },
      { label: 'federated', hash: '3'.repeat(64), trainedAt: ['dijon', 'leeds'] },
      { label: 'unlabelled', hash: '4'.repeat(64) },
    ];
    registerModels(state, ...models.map((m) => m.hash));
    const job = await engine.submit('evaluate', { sites: [...sites], models }, 'admin');
    // Each single-centre model scores 0.9 at home and 0.6 away; the federated one 0.85 everywhere.
    const score = (label: string, site: string) => (label === 'federated' ? 0.85 : label === 'unlabelled' ? 0.5 : label.startsWith(site) ? 0.9 : 0.6);
    for (const site of sites) {
      const task = onlyTask(transport, ids.get(site)!);
      const metrics = Object.fromEntries(models.map((m) => [m.label, { bloodpool: { n: 10, mean: score(m.label, site), sd: 0.05 }, myocardium: { n: 10, mean: score(m.label, site) - 0.1, sd: 0.05 } }]));
      await engine.handleResult(ids.get(site)!, { resultId: `e-${site}`, taskId: task.taskId, metrics, numExamples: 10 });
    }
    const done = state.jobs.job(job.id);
    assert.equal(done.status, 'completed', done.failure ?? '');
    type Cmp = { singleCentre: { model: string; atHome: number; elsewhere: { mean: number } }[]; multiCentre: { model: string; pooled: { mean: number; n: number } }[]; perSite: { site: string; ownModel: { model: string }; multiCentre: { gainOverOwn: number }[] }[] };
    const cmp = (done.summary as { comparison: Record<string, Cmp> }).comparison['bloodpool']!;
    assert.deepEqual(cmp.singleCentre.map((s) => [s.model, s.atHome, s.elsewhere.mean]), [['dijon-only', 0.9, 0.6], ['leeds-only', 0.9, 0.6]]);
    assert.deepEqual(cmp.multiCentre.map((m) => [m.model, m.pooled.n]), [['federated', 20]]);
    assert.equal(cmp.perSite.find((s) => s.site === 'leeds')!.ownModel.model, 'leeds-only');
    for (const s of cmp.perSite) assert.ok(Math.abs(s.multiCentre[0]!.gainOverOwn - -0.05) < 1e-12);
    state.close();
  });

  it('fedavg: a site returning NaN weights, another architecture or another tensor layout is excluded by itself with its reason; 120 sites aggregate in one streamed pass', async () => {
    const names = Array.from({ length: 120 }, (_, i) => `site${String(i).padStart(3, '0')}`);
    const { state, engine, transport, ids } = await setup(dir(), names);
    // A network the coordinator cannot check results against is refused at submission.
    await assert.rejects(engine.submit('fedavg', { sites: names, rounds: 1, architecture: 'toy-unet', minSites: 100 }, 'admin'), /unknown architecture "toy-unet"/);
    // Round 1 starts from no model, so the only reference for the layout is the architecture itself.
    const job = await engine.submit('fedavg', { sites: names, rounds: 1, architecture: ARCH, compareWithLocal: false, minSites: 100 }, 'admin');
    const [first, ...rest] = LAYOUT.tensors;
    // The same parameter count under the job's architecture name, with the first filter's axes reversed.
    const transposed = { ...LAYOUT, tensors: [{ ...first!, shape: [...first!.shape].reverse() }, ...rest] };
    const odd = [
      { ...LAYOUT, fill: NaN },
      { ...LAYOUT, architecture: 'other-net', fill: 1 },
      { ...transposed, fill: 1 },
    ];
    let expectedSum = 0;
    let expectedCases = 0;
    for (const [i, name] of names.entries()) {
      const task = onlyTask(transport, ids.get(name)!);
      const bad = odd[i];
      const modelHash = bad ? await state.models.put(encodeWeights(bad, new Float32Array(PARAMS).fill(bad.fill))) : await simulatedTraining(state, task, i);
      const outcome = await engine.handleResult(ids.get(name)!, { resultId: `t-${name}`, taskId: task.taskId, metrics: { loss: 0.1 }, modelHash, numExamples: i + 1 });
      assert.equal(outcome, bad ? 'rejected' : 'accepted');
      if (!bad) {
        expectedSum += (i + 1) * i;
        expectedCases += i + 1;
      }
    }
    const done = state.jobs.job(job.id);
    assert.equal(done.status, 'completed', done.failure ?? '');
    const round = (done.summary as { finalModel: string; rounds: { participants: unknown[]; excluded: { site: string; reason: string }[] }[] }).rounds[0]!;
    assert.equal(round.participants.length, 117);
    const reasons = Object.fromEntries(round.excluded.map((e) => [e.site, e.reason]));
    assert.deepEqual(Object.keys(reasons).sort(), ['site000', 'site001', 'site002']);
    assert.match(reasons['site000']!, /non-finite value at parameter 0/);
    assert.ok(reasons['site001']!.includes(`returned a other-net model, the task trains ${ARCH}`), reasons['site001']);
    assert.ok(reasons['site002']!.includes(`returned tensor 0 as ${first!.name} [${[...first!.shape].reverse().join(', ')}], ${ARCH} defines ${first!.name} [${first!.shape.join(', ')}]`), reasons['site002']);
    const final = decodeWeights(await readFile(state.models.path((done.summary as { finalModel: string }).finalModel))).parameters;
    for (const v of final) assert.ok(Math.abs(v - expectedSum / expectedCases) < 1e-4);
    state.close();
  });
});
