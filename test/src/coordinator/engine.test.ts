import assert from 'node:assert/strict';
import { decodeWeights } from '@lgefed/protocol/weights-file';
import { readFile } from 'node:fs/promises';
import type { CoordinatorState } from '@lgefed/coordinator/state';
import type { JobEngine, TaskMessage } from '@lgefed/coordinator/workflow/index';
import { ARCH, enrolSites, evaluationMetrics, InboxTransport, ManualClock, openEngine, registerModels, simulatedTraining } from './federation-harness.js';
import { useTempDir } from './temp-dir.js';

const SITES = ['dijon', 'toronto', 'leeds'] as const;
const CASES: Record<string, number> = { dijon: 30, toronto: 10, leeds: 20 };
const SHIFT: Record<string, number> = { dijon: 1, toronto: 2, leeds: 4 };

/** Answers every open task of the given sites as a well-behaved site would. */
async function answer(state: CoordinatorState, engine: JobEngine, transport: InboxTransport, ids: Map<string, string>, names: readonly string[]) {
  for (const name of names) {
    for (const task of transport.take(ids.get(name)!)) await answerTask(state, engine, ids.get(name)!, name, task);
  }
}

async function answerTask(state: CoordinatorState, engine: JobEngine, siteId: string, name: string, task: TaskMessage) {
  if (task.kind === 'train') {
    const modelHash = await simulatedTraining(state, task, SHIFT[name]!);
    return engine.handleResult(siteId, { resultId: `${task.taskId}:${name}`, taskId: task.taskId, metrics: { loss: 0.1 }, modelHash, numExamples: CASES[name]! });
  }
  return engine.handleResult(siteId, { resultId: `${task.taskId}:${name}`, taskId: task.taskId, metrics: evaluationMetrics(task, 0.9) as never, numExamples: 10 });
}

const fedSpec = (extra: Record<string, unknown> = {}) => ({ sites: [...SITES], rounds: 2, localEpochs: 1, architecture: ARCH, config: { seed: 7 }, ...extra });

describe('coordinator: job engine (in-process sites)', () => {
  const dir = useTempDir();

  it('runs a 3-site FedAvg job: local baselines, weighted rounds, cross-site matrix, comparison', async () => {
    const clock = new ManualClock();
    const transport = new InboxTransport();
    const { state, engine } = await openEngine(dir(), clock, transport);
    const ids = await enrolSites(state, SITES);
    const job = await engine.submit('fedavg', fedSpec(), 'admin');
    for (let step = 0; step < 4; step++) await answer(state, engine, transport, ids, SITES);
    const done = state.jobs.job(job.id);
    assert.equal(done.status, 'completed', done.failure ?? '');
    const summary = done.summary as { finalModel: string; rounds: { participants: unknown[] }[]; matrix: { rows: { model: string }[] }; comparison: Record<string, unknown> };
    // Each federated round adds the case-weighted mean shift (30·1 + 10·2 + 20·4) / 60 to every weight.
    const expected = (2 * (30 * 1 + 10 * 2 + 20 * 4)) / 60;
    const final = decodeWeights(await readFile(state.models.path(summary.finalModel))).parameters;
    for (const v of final) assert.ok(Math.abs(v - expected) < 1e-5, `${v} vs ${expected}`);
    assert.equal(summary.rounds.length, 2);
    assert.deepEqual(summary.matrix.rows.map((r) => r.model).sort(), ['federated', 'local:dijon', 'local:leeds', 'local:toronto']);
    assert.ok(summary.comparison['bloodpool']);
    assert.equal(state.audit.verify(), null);
    state.close();
  });

  it('completes a round with the sites that answered when one refuses by policy, recording why', async () => {
    const clock = new ManualClock();
    const transport = new InboxTransport();
    const { state, engine } = await openEngine(dir(), clock, transport);
    const ids = await enrolSites(state, SITES);
    const job = await engine.submit('fedavg', fedSpec({ rounds: 1, minSites: 2, compareWithLocal: false }), 'admin');
    const [refused] = transport.take(ids.get('leeds')!);
    await engine.handleRefusal(ids.get('leeds')!, refused!.taskId, { code: 'policy_weights_export', message: 'weights may not leave this site' });
    await answer(state, engine, transport, ids, ['dijon', 'toronto']);
    const done = state.jobs.job(job.id);
    assert.equal(done.status, 'completed');
    const round = (done.summary as { rounds: { excluded: { site: string; reason: string }[]; participants: { site: string }[] }[] }).rounds[0]!;
    assert.deepEqual(round.participants.map((p) => p.site), ['dijon', 'toronto'].sort((a, b) => (ids.get(a)! < ids.get(b)! ? -1 : 1)));
    assert.equal(round.excluded[0]!.site, 'leeds');
    assert.match(round.excluded[0]!.reason, /refused by site: \[policy_weights_export\]/);
    state.close();
  });

  it('retries a slow site past its deadline, then excludes it; fails the job below min_sites', async () => {
    const clock = new ManualClock();
    const transport = new InboxTransport();
    const { state, engine } = await openEngine(dir(), clock, transport);
    const ids = await enrolSites(state, SITES);
    registerModels(state, 'a'.repeat(64));
    const job = await engine.submit('evaluate', { sites: [...SITES], minSites: 3, models: [{ label: 'm', hash: 'a'.repeat(64) }], deadlineSeconds: 60, maxAttempts: 2 }, 'admin');
    await answer(state, engine, transport, ids, ['dijon', 'toronto']);
    assert.equal(transport.take(ids.get('leeds')!).length, 1);
    clock.advance(59_000);
    await engine.checkDeadlines();
    assert.equal(transport.take(ids.get('leeds')!).length, 0, 'not yet overdue');
    clock.advance(2_000);
    await engine.checkDeadlines();
    const retry = transport.take(ids.get('leeds')!);
    assert.equal(retry[0]!.attempt, 2, 'second attempt sent');
    clock.advance(61_000);
    await engine.checkDeadlines();
    const failed = state.jobs.job(job.id);
    assert.equal(failed.status, 'failed');
    assert.match(failed.failure!, /2 site\(s\) answered, min_sites is 3/);
    // The late answer is refused: the site was excluded.
    await assert.rejects(answerTask(state, engine, ids.get('leeds')!, 'leeds', retry[0]!), { code: 'task_closed' });
    state.close();
  });

  it("ends a round and its job in one transaction: a job update that fails leaves the round as it was (issue 13, medium 10)", async () => {
    const clock = new ManualClock();
    const transport = new InboxTransport();
    const { state, engine } = await openEngine(dir(), clock, transport);
    const ids = await enrolSites(state, SITES);
    registerModels(state, 'a'.repeat(64));
    const job = await engine.submit('evaluate', { sites: [...SITES], minSites: 3, models: [{ label: 'm', hash: 'a'.repeat(64) }], deadlineSeconds: 60, maxAttempts: 1 }, 'admin');
    await answer(state, engine, transport, ids, ['dijon', 'toronto']);
    // The disk refuses the job's end (as a crash between two statements would leave it).
    state.db.exec("CREATE TRIGGER refuse_job_end BEFORE UPDATE OF status ON jobs WHEN NEW.status = 'failed' BEGIN SELECT RAISE(ABORT, 'disk gone'); END;");
    clock.advance(61_000);
    await assert.rejects(engine.checkDeadlines(), /disk gone/);
    assert.equal(state.jobs.job(job.id).status, 'running');
    assert.deepEqual(state.jobs.rounds(job.id).map((r) => r.status), ['running'], 'the round did not end without its job');
    assert.equal(state.audit.list({ type: 'job.failed' }).length, 0, 'nor was it audited');
    state.db.exec('DROP TRIGGER refuse_job_end');
    // What a restarted coordinator does first: carry every running job on from its stored state.
    await engine.resume();
    assert.equal(state.jobs.job(job.id).status, 'failed');
    assert.deepEqual(state.jobs.rounds(job.id).map((r) => r.status), ['failed']);
    assert.equal(state.audit.list({ type: 'job.failed' }).length, 1);
    state.close();
  });

  it('counts a result delivered twice once and refuses results for another site’s task', async () => {
    const clock = new ManualClock();
    const transport = new InboxTransport();
    const { state, engine } = await openEngine(dir(), clock, transport);
    const ids = await enrolSites(state, SITES);
    registerModels(state, 'a'.repeat(64));
    await engine.submit('evaluate', { sites: [...SITES], models: [{ label: 'm', hash: 'a'.repeat(64) }] }, 'admin');
    const [task] = transport.take(ids.get('dijon')!);
    assert.equal(await answerTask(state, engine, ids.get('dijon')!, 'dijon', task!), 'accepted');
    assert.equal(await answerTask(state, engine, ids.get('dijon')!, 'dijon', task!), 'duplicate');
    await assert.rejects(answerTask(state, engine, ids.get('toronto')!, 'toronto', task!), { code: 'task_not_assigned' });
    assert.equal((state.db.prepare('SELECT COUNT(*) AS n FROM results').get() as { n: number }).n, 1);
    state.close();
  });

  it('resumes a job after the coordinator is killed mid-round, losing and repeating nothing', async () => {
    const clock = new ManualClock();
    let transport = new InboxTransport();
    let { state, engine } = await openEngine(dir(), clock, transport);
    const ids = await enrolSites(state, SITES);
    const job = await engine.submit('fedavg', fedSpec({ compareWithLocal: false }), 'admin');
    await answer(state, engine, transport, ids, SITES); // round 1 done
    const round2 = new Map(SITES.map((s) => [s, transport.take(ids.get(s)!)[0]!]));
    await answerTask(state, engine, ids.get('dijon')!, 'dijon', round2.get('dijon')!);
    state.close(); // "kill": nothing in memory survives

    transport = new InboxTransport();
    ({ state, engine } = await openEngine(dir(), clock, transport));
    await engine.resume();
    for (const s of SITES) engine.siteConnected(ids.get(s)!);
    // Dijon's finished result is kept: it is not asked again; the others get their round-2 task again.
    assert.equal(transport.take(ids.get('dijon')!).length, 0);
    // A re-delivery of dijon's result after the restart still counts once.
    assert.equal(await answerTask(state, engine, ids.get('dijon')!, 'dijon', round2.get('dijon')!), 'duplicate');
    await answer(state, engine, transport, ids, ['toronto', 'leeds']);
    const done = state.jobs.job(job.id);
    assert.equal(done.status, 'completed', done.failure ?? '');
    assert.equal((state.db.prepare('SELECT COUNT(*) AS n FROM results').get() as { n: number }).n, 6);
    state.close();
  });

  it('rejects bad specs with a clear typed error', async () => {
    const { state, engine } = await openEngine(dir(), new ManualClock(), new InboxTransport());
    await enrolSites(state, SITES);
    await assert.rejects(engine.submit('fedavg', fedSpec({ sites: ['nowhere'] }), 'admin'), { code: 'invalid_argument', message: /unknown site nowhere/ });
    await assert.rejects(engine.submit('fedavg', fedSpec({ minSites: 4 }), 'admin'), { code: 'invalid_argument', message: /minSites 4/ });
    await assert.rejects(engine.submit('fedavg', fedSpec({ aggregation: { strategy: 'trimmed-mean', trimFraction: 0.7 } }), 'admin'), { code: 'invalid_argument' });
    await assert.rejects(engine.submit('teleport', {}, 'admin'), { code: 'invalid_argument', message: /unknown job kind/ });
    // A site's cases come from a fraction or a count, not both.
    await assert.rejects(engine.submit('fedavg', fedSpec({ config: { dataFraction: 0.5, caseCount: 10 } }), 'admin'), { code: 'invalid_argument', message: /config/ });
    await assert.rejects(engine.submit('fedavg', fedSpec({ config: { caseCount: 0 } }), 'admin'), { code: 'invalid_argument', message: /caseCount/ });
    state.close();
  });
});
