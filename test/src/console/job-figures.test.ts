import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReferenceProfile } from '@lgefed/shared/harmonise/index';
import { releaseIntensityHistogram } from '@lgefed/site-agent/privacy/histogram-release';
import type { FigureData } from '@lgefed/shared/plots/figures';
import { cancelJob } from '@lgefed/coordinator/live/job-control';
import { ConsoleViews } from '@lgefed/coordinator/live/console-views';
import { jobFigures } from '@lgefed/coordinator/report/job-figures';
import { writeReport } from '@lgefed/coordinator/report/html-report';
import type { FinetuneTaskPayload, HarmonisationCheckTaskPayload } from '@lgefed/coordinator/workflow/index';
import { ARCH, enrolSites, InboxTransport, ManualClock, openEngine, registerModels } from '../coordinator/federation-harness.js';
import { seededRandomInt } from '../coordinator/seeded-uniform.js';
import { useTempDir } from '../coordinator/temp-dir.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
const images = (seed: number, gamma: number) => {
  const rng = seeded(seed);
  return Array.from({ length: 2 }, () => Float32Array.from({ length: 32 * 32 }, () => 1 + 1000 * rng() ** gamma));
};
const figure = <T extends FigureData['type']>(figures: readonly FigureData[], type: T) => figures.find((f) => f.type === type) as Extract<FigureData, { type: T }>;

describe('job figures and reports from stored jobs (simulated sites)', () => {
  const dir = useTempDir();

  async function setup(sites: readonly string[]) {
    const transport = new InboxTransport();
    const { state, engine } = await openEngine(dir(), new ManualClock(), transport);
    const ids = await enrolSites(state, sites);
    registerModels(state, 'b'.repeat(64));
    const name = (id: string) => state.sites.get(id)?.name ?? id;
    return { state, engine, transport, ids, name };
  }

  it('harmonisation-check: per-site distances with the flag threshold, and every released histogram next to the reference', async () => {
    const { state, engine, transport, ids, name } = await setup(['dijon', 'oslo']);
    const reference = buildReferenceProfile(images(1, 1), { bins: 16 });
    const job = await engine.submit('harmonisation-check', { sites: ['dijon', 'oslo'], reference, epsilon: 100, flagWasserstein: 0.08 }, 'admin');
    for (const [site, gamma] of [['dijon', 1], ['oslo', 3]] as const) {
      const task = transport.take(ids.get(site)!)[0]!;
      const payload = task.payload as unknown as HarmonisationCheckTaskPayload;
      const report = releaseIntensityHistogram(images(7, gamma), payload.reference, payload.epsilon, seededRandomInt(3));
      await engine.handleResult(ids.get(site)!, { resultId: `r-${site}`, taskId: task.taskId, metrics: report as never, numExamples: 2 });
    }
    const { figures, job: meta } = jobFigures(state.jobs, job.id, name);
    assert.equal(meta.status, 'completed');
    const distances = figure(figures, 'harmonisation-distances');
    assert.equal(distances.flagWasserstein, 0.08);
    assert.deepEqual(distances.rows.filter((r) => r.flagged).map((r) => r.site), ['oslo']);
    const histograms = figure(figures, 'intensity-histograms');
    assert.deepEqual([...new Set(histograms.rows.map((r) => r.source))].sort(), ['dijon', 'oslo', 'reference']);
    for (const source of ['dijon', 'oslo', 'reference']) {
      const bins = histograms.rows.filter((r) => r.source === source);
      assert.equal(bins.length, 16);
      assert.ok(Math.abs(bins.reduce((a, b) => a + b.fraction, 0) - 1) < 1e-9);
    }
    state.close();
  });

  it('finetune: curves per variant and data fraction, and the Table-5 summary; the report writes every figure', async () => {
    const { state, engine, transport, ids, name } = await setup(['dijon']);
    const job = await engine.submit('finetune', { sites: ['dijon'], architecture: ARCH, pretrainedModel: 'b'.repeat(64), encoderBlocks: [2], dataFractions: [0.5, 1], config: { epochs: 1 } }, 'admin');
    for (let round = 0; round < 4; round++) {
      const task = transport.take(ids.get('dijon')!)[0]!;
      const p = task.payload as unknown as FinetuneTaskPayload;
      const mean = (p.initialModel === null ? 0.6 : 0.7) + 0.1 * p.dataFraction;
      const metrics = { trainCases: 4, dice: { bloodpool: { n: 5, mean, sd: 0.02 }, myocardium: { n: 5, mean: mean - 0.1, sd: 0.02 } } };
      await engine.handleResult(ids.get('dijon')!, { resultId: `r${round}`, taskId: task.taskId, metrics, numExamples: 4 });
    }
    const report = jobFigures(state.jobs, job.id, name);
    const curves = figure(report.figures, 'finetune-curves');
    assert.deepEqual([...new Set(curves.rows.map((r) => r.variant))].sort(), ['k=2', 'scratch']);
    const point = curves.rows.find((r) => r.variant === 'k=2' && r.dataFraction === 1 && r.structure === 'bloodpool')!;
    assert.ok(Math.abs(point.mean - 0.8) < 1e-12);
    assert.doesNotMatch(curves.caption, /Sites scored with/, 'one pass says nothing');
    const table = figure(report.figures, 'finetune-summary');
    const row = table.rows.find((r) => r.dataFraction === 0.5 && r.structure === 'myocardium')!;
    assert.equal(row.bestVariant, 'k=2');
    assert.ok(Math.abs(row.gainOverScratch! - 0.1) < 1e-12);

    const out = await mkdtemp(join(tmpdir(), 'lgefed-report-'));
    try {
      await writeReport(out, report);
      assert.deepEqual((await readdir(join(out, 'figures'))).sort(), ['finetune-curves.csv', 'finetune-curves.json', 'finetune-summary.csv', 'finetune-summary.json']);
      const html = await readFile(join(out, 'index.html'), 'utf8');
      assert.equal(html.match(/<img alt="[^"]+" src="data:image\/svg\+xml;base64,/g)?.length, 2);
      assert.match(html, /<td>50%<\/td><td>myocardium<\/td><td>0\.550<\/td><td>k=2<\/td><td>0\.650<\/td><td class="better">\+0\.100<\/td>/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    state.close();
  });

  it('evaluate: the cross-site figure says how the sites scored when the job asked for test-time passes', async () => {
    const { state, engine, transport, ids, name } = await setup(['dijon']);
    const job = await engine.submit('evaluate', { sites: ['dijon'], models: [{ label: 'm', hash: 'b'.repeat(64) }], inference: { mirror: true, scales: [0.833, 1, 1.167] } }, 'admin');
    const task = transport.take(ids.get('dijon')!)[0]!;
    const summary = { n: 5, mean: 0.8, sd: 0.02 };
    await engine.handleResult(ids.get('dijon')!, { resultId: 'r', taskId: task.taskId, metrics: { m: { bloodpool: summary, myocardium: summary } }, numExamples: 5 });
    const dice = figure(jobFigures(state.jobs, job.id, name).figures, 'cross-site-dice');
    assert.match(dice.caption, /Sites scored with test-time mirroring and scale averaging \(0\.833, 1, 1\.167 × the working spacing\)\.$/);
    state.close();
  });

  it('site views count refusals and keep the latest error per site from the audit log', async () => {
    const { state, ids } = await setup(['dijon', 'oslo']);
    const views = new ConsoleViews(state, undefined);
    const dijon = ids.get('dijon')!;
    assert.deepEqual(views.sites().find((s) => s.name === 'dijon')!.policy, { refusals: 0, lastRefusal: null });
    state.audit.append({ actor: `site:${dijon}`, type: 'task.refused', subject: 'job-1', details: { taskId: 't1', code: 'POLICY', message: 'finetune not allowed' } });
    state.audit.append({ actor: `site:${dijon}`, type: 'task.refused', subject: 'job-2', details: { taskId: 't2', code: 'POLICY', message: 'weights may not leave' } });
    state.audit.append({ actor: 'coordinator', type: 'site.excluded', subject: 'job-3', details: { taskId: 't3', siteId: ids.get('oslo')!, reason: 'missed its deadline' } });
    const sites = new Map(views.sites().map((s) => [s.name, s]));
    assert.deepEqual(sites.get('dijon')!.policy, { refusals: 2, lastRefusal: 'POLICY: weights may not leave' });
    assert.equal(sites.get('oslo')!.policy.refusals, 0);
    assert.equal(sites.get('oslo')!.lastError!.type, 'site.excluded');
    assert.equal(sites.get('oslo')!.lastError!.message, 'missed its deadline');
    state.close();
  });

  it('cancelling closes the open round: deadlines stop retrying its tasks and the job view says who cancelled', async () => {
    const { state, engine, transport, ids } = await setup(['dijon']);
    const job = await engine.submit('finetune', { sites: ['dijon'], architecture: ARCH, pretrainedModel: 'b'.repeat(64), encoderBlocks: [2], dataFractions: [1], config: { epochs: 1 }, deadlineSeconds: 1 }, 'admin');
    assert.equal(transport.take(ids.get('dijon')!).length, 1);
    const cancelled = cancelJob(state, job.id, 'admin:ann');
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(state.jobs.overdueTasks().length, 0);
    assert.deepEqual(state.jobs.openTasksForSite(ids.get('dijon')!), []);
    assert.throws(() => cancelJob(state, job.id, 'admin:ann'), { code: 'conflict' });
    const view = new ConsoleViews(state, undefined).job(job.id);
    assert.equal(view.failure, 'cancelled by admin:ann');
    assert.equal(view.plannedRounds, 2);
    state.close();
  });
});
