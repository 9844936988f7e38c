import assert from 'node:assert/strict';
import type { FigureData } from '@lgefed/shared/plots/figures';
import { ConsoleViews } from '@lgefed/coordinator/live/console-views';
import { renderReportHtml } from '@lgefed/coordinator/report/html-report';
import { FEDERATION_SERIES, jobFigures } from '@lgefed/coordinator/report/job-figures';
import { jobName } from '@lgefed/coordinator/workflow/job-name';
import { ARCH, enrolSites, evaluationMetrics, InboxTransport, ManualClock, openEngine, simulatedTraining } from '../coordinator/federation-harness.js';
import { useTempDir } from '../coordinator/temp-dir.js';

const figure = <T extends FigureData['type']>(figures: readonly FigureData[], id: string) => figures.find((f) => f.id === id) as Extract<FigureData, { type: T }> | undefined;

/** The console's audit sentences are a browser module with no DOM use at import: loaded as it is served. */
const auditText = (await import(new URL('../../../coordinator/src/console/audit-text.js', import.meta.url).href)) as {
  describeEvent(e: { type: string; actor: string; details: unknown }, names: { site(id: string): string; job(id: string): string }): string;
};

describe('jobs by name, and the figures of finished training and FedAvg jobs', () => {
  const dir = useTempDir();

  async function setup(sites: readonly string[]) {
    const transport = new InboxTransport();
    const { state, engine } = await openEngine(dir(), new ManualClock(), transport);
    const ids = await enrolSites(state, sites);
    return { state, engine, transport, ids, siteName: (id: string) => state.sites.get(id)?.name ?? id };
  }

  it('names a job by its spec, or by its kind and where it runs; the name is refused when empty', async () => {
    assert.equal(jobName('train', { site: 'dijon', name: '  dijon, augmented ' }), 'dijon, augmented');
    assert.equal(jobName('train', { site: 'dijon' }), 'training at dijon');
    assert.equal(jobName('fedavg', { sites: ['a', 'b'] }), 'FedAvg over 2 sites');
    const { state, engine } = await setup(['dijon', 'oslo']);
    const named = await engine.submit('fedavg', { name: 'FedAvg progressive', sites: ['dijon', 'oslo'], rounds: 1, architecture: ARCH, compareWithLocal: false }, 'admin:ann');
    const plain = await engine.submit('train', { site: 'oslo', architecture: ARCH }, 'admin:ann');
    const views = new ConsoleViews(state, undefined);
    assert.deepEqual(views.jobs().map((j) => j.name).sort(), ['FedAvg progressive', 'training at oslo']);
    assert.equal(jobFigures(state.jobs, named.id, String).job.name, 'FedAvg progressive');
    assert.equal(state.jobs.job(plain.id).name, 'training at oslo');
    await assert.rejects(engine.submit('train', { name: '', site: 'oslo', architecture: ARCH }, 'admin:ann'), /name must NOT have fewer than 1 characters/);
    state.close();
  });

  it('a finished training job shows its loss per epoch, its model, and the model’s test Dice once an evaluation scored it', async () => {
    const { state, engine, transport, ids, siteName } = await setup(['dijon']);
    const dijon = ids.get('dijon')!;
    const train = await engine.submit('train', { name: 'dijon augmentation paper', site: 'dijon', architecture: ARCH, config: { epochs: 3 } }, 'admin:ann');
    const task = transport.take(dijon)[0]!;
    const modelHash = await simulatedTraining(state, task, 0.1);
    await engine.handleResult(dijon, { resultId: 'r1', taskId: task.taskId, metrics: { epochs: 3, loss: 0.4, lossCurve: [0.9, 0.6, 0.4] }, modelHash, numExamples: 4 });
    let report = jobFigures(state.jobs, train.id, siteName);
    assert.equal(report.job.status, 'completed');
    const loss = figure<'learning-curve'>(report.figures, 'training-loss')!;
    assert.deepEqual(loss.rows.map((r) => [r.series, r.step, r.value]), [['dijon', 1, 0.9], ['dijon', 2, 0.6], ['dijon', 3, 0.4]]);
    assert.deepEqual(report.model, { hash: modelHash, evaluatedIn: [] });
    assert.equal(figure(report.figures, 'model-dice'), undefined);

    const evaluation = await engine.submit('evaluate', { name: 'cross-site evaluation', sites: ['dijon'], models: [{ label: 'dijon aug', hash: modelHash }] }, 'admin:ann');
    const evalTask = transport.take(dijon)[0]!;
    await engine.handleResult(dijon, { resultId: 'r2', taskId: evalTask.taskId, metrics: evaluationMetrics(evalTask, 0.8) as never, numExamples: 10 });
    report = jobFigures(state.jobs, train.id, siteName);
    assert.deepEqual(report.model!.evaluatedIn, [{ id: evaluation.id, name: 'cross-site evaluation' }]);
    const dice = figure<'cross-site-dice'>(report.figures, 'model-dice')!;
    assert.deepEqual(dice.rows.map((r) => [r.testSite, r.structure, r.mean]), [['dijon', 'bloodpool', 0.8], ['dijon', 'myocardium', 0.8 - 0.1]]);
    const html = await renderReportHtml(report);
    assert.match(html, /<title>dijon augmentation paper — lgefed report<\/title>/);
    assert.match(html, new RegExp(`sha256 <code>${modelHash}</code> · scored in cross-site evaluation`));
    assert.doesNotMatch(html, /No figures yet/);
    state.close();
  });

  it('FedAvg: who trained in each round, and learning curves with the federation’s case-weighted average', async () => {
    const { state, engine, transport, ids, siteName } = await setup(['dijon', 'oslo']);
    const job = await engine.submit('fedavg', { sites: ['dijon', 'oslo'], rounds: 1, architecture: ARCH, compareWithLocal: false }, 'admin:ann');
    for (const [site, loss, cases] of [['dijon', 0.2, 1], ['oslo', 0.6, 3]] as const) {
      const task = transport.take(ids.get(site)!)[0]!;
      await engine.handleResult(ids.get(site)!, { resultId: `r-${site}`, taskId: task.taskId, metrics: { epochs: 1, loss }, modelHash: await simulatedTraining(state, task, 0.1), numExamples: cases });
    }
    const report = jobFigures(state.jobs, job.id, siteName, ['oslo', 'dijon']);
    const curves = figure<'learning-curve'>(report.figures, 'learning-curves')!;
    assert.deepEqual(figure<'participation'>(report.figures, 'participation')!.rows.map((r) => `${r.round} ${r.site} ${r.status}`).sort(), ['1 dijon trained', '1 oslo trained']);
    assert.notEqual(report.colours['dijon'], report.colours['oslo']);
    const federation = curves.rows.find((r) => r.series === FEDERATION_SERIES)!;
    assert.equal(federation.step, 1);
    assert.ok(Math.abs(federation.value - (0.2 * 1 + 0.6 * 3) / 4) < 1e-12);
    state.close();
  });

  it('tells audit events as sentences with sites and jobs by name, and summarises large payloads', () => {
    const names = { site: (id: string) => ({ s1: 'north', s2: 'south' })[id] ?? id, job: (id: string) => ({ j1: 'FedAvg progressive' })[id] ?? id };
    const reference = { histogram: { low: 0, high: 1, counts: Array.from({ length: 256 }, (_, i) => i * 1.234567) } };
    const requested = auditText.describeEvent({ type: 'job.requested', actor: 'admin:ann', details: { kind: 'harmonisation-check', spec: { name: 'harmonisation check', sites: ['north', 'south'], reference, epsilon: 1 } } }, names);
    assert.equal(requested, 'Asked for a harmonisation-check job named “harmonisation check” (sites: north, south; reference: 1 fields; epsilon: 1).');
    assert.ok(requested.length < 300);
    assert.equal(auditText.describeEvent({ type: 'round.started', actor: 'coordinator', details: { roundNo: 1, name: 'federated-1', sites: ['s1', 's2'] } }, names), 'Round federated-1 started with north, south.');
    assert.equal(auditText.describeEvent({ type: 'task.sent', actor: 'coordinator', details: { taskId: 't', siteId: 's2', kind: 'train', attempt: 1 } }, names), 'A train task went to south (attempt 1).');
    assert.equal(auditText.describeEvent({ type: 'task.sent', actor: 'coordinator', details: { taskId: 't', siteId: 's1', kind: 'evaluate', attempt: 2 } }, names), 'An evaluate task went to north (attempt 2).');
    assert.equal(auditText.describeEvent({ type: 'job.rerun', actor: 'admin:ann', details: { of: 'j1' } }, names), 'Re-ran FedAvg progressive.');
  });
});
