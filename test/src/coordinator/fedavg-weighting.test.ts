import assert from 'node:assert/strict';
import { startCoordinator, type RunningCoordinator } from '@lgefed/coordinator/server';
import { decodeWeights, encodeWeights } from '@lgefed/protocol/weights-file';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCH, LAYOUT, PARAMS } from './federation-harness.js';
import { constantWeights, dataset, HandSite } from './hand-site.js';

/** What each hand-driven site registers, uploads and claims. */
interface Behaviour {
  readonly site: HandSite;
  readonly value: number;
  readonly claims: number;
}

type Participant = { site: string; numExamples: number; updateNorm?: number; clipped?: boolean };

describe('coordinator: one site cannot dictate the FedAvg model (issue 13, medium 7)', function () {
  this.timeout(120_000);
  let dir = '';
  let coordinator: RunningCoordinator;
  let honest: HandSite;
  let other: HandSite;
  let liar: HandSite;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lgefed-weighting-'));
    coordinator = await startCoordinator({ stateDir: dir, port: 0 });
    honest = await HandSite.join(coordinator, 'dijon', [dataset(8)]);
    other = await HandSite.join(coordinator, 'leeds', [dataset(6)]);
    // Registers 5 labelled cases, then claims the most a uint32 holds and sends weights far from everyone's.
    liar = await HandSite.join(coordinator, 'mallory', [dataset(5)]);
  });
  after(async () => {
    for (const s of [honest, other, liar]) s?.close();
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sites = (): Behaviour[] => [
    { site: honest, value: 1, claims: 8 },
    { site: other, value: 1.5, claims: 6 },
    { site: liar, value: 1000, claims: 4_294_967_295 },
  ];

  /** One FedAvg round over the wire; returns the aggregate's values and the round's participants. */
  async function round(aggregation: Record<string, unknown>, initialModel?: string): Promise<{ values: Float32Array; participants: Participant[] }> {
    const job = await coordinator.engine.submit(
      'fedavg',
      { sites: ['dijon', 'leeds', 'mallory'], rounds: 1, architecture: ARCH, compareWithLocal: false, aggregation, ...(initialModel ? { initialModel } : {}) },
      'admin',
    );
    for (const { site, value, claims } of sites()) {
      const task = await site.nextTask();
      const weights = constantWeights(task, value);
      await site.upload(weights);
      assert.equal((await site.trainResult(task, weights, claims)).header.msg, 'Ack');
    }
    const done = coordinator.state.jobs.job(job.id);
    assert.equal(done.status, 'completed', done.failure ?? '');
    const summary = done.summary as { finalModel: string; rounds: { participants: Participant[] }[] };
    const values = decodeWeights(await readFile(coordinator.state.models.path(summary.finalModel))).parameters;
    return { values, participants: [...summary.rounds[0]!.participants].sort((a, b) => a.site.localeCompare(b.site)) };
  }

  const allClose = (values: Float32Array, expected: number) => {
    for (const v of values) assert.ok(Math.abs(v - expected) < 1e-4 * Math.max(1, Math.abs(expected)), `${v} != ${expected}`);
  };

  it('weighs a TrainResult by at most the labelled cases the site registered in its hello, and audits the cut', async () => {
    const { values, participants } = await round({ strategy: 'fedavg' });
    assert.deepEqual(participants.map((p) => [p.site, p.numExamples]), [['dijon', 8], ['leeds', 6], ['mallory', 5]]);
    // Uncapped the liar's weight would be ~1: the aggregate ~1000.
    allClose(values, (8 * 1 + 6 * 1.5 + 5 * 1000) / 19);
    const capped = coordinator.state.audit.list({ limit: 1000 }).filter((e) => e.type === 'result.cases_capped');
    assert.deepEqual(capped.map((e) => [e.actor, (e.details as { claimed: number; registered: number; count: number })]), [['site:' + liar.siteId, { taskId: (capped[0]!.details as { taskId: string }).taskId, claimed: 4_294_967_295, registered: 5, count: 5 }]]);
  });

  it('median and trimmed mean are one field of the job spec away, and ignore the outlier', async () => {
    allClose((await round({ strategy: 'median' })).values, 1.5);
    // β = 0.34 of 3 sites trims one value at each end: the middle one is left.
    allClose((await round({ strategy: 'trimmed-mean', trimFraction: 0.34 })).values, 1.5);
  });

  it('clipNorm bounds each update (its weights minus the round start) in L2, measured from the initial model', async () => {
    await assert.rejects(
      coordinator.engine.submit('fedavg', { sites: ['dijon'], rounds: 1, architecture: ARCH, aggregation: { strategy: 'fedavg', clipNorm: 1 } }, 'admin'),
      { code: 'invalid_argument', message: /clipNorm measures each update from the round's starting model/ },
    );
    const start = await coordinator.state.models.put(encodeWeights(LAYOUT, new Float32Array(PARAMS)));
    coordinator.state.jobs.registerModel(start, ARCH, PARAMS, 'test');
    const clipNorm = 2 * Math.sqrt(PARAMS); // per coordinate at most 2 from the start
    const { values, participants } = await round({ strategy: 'fedavg', clipNorm }, start);
    assert.deepEqual(
      participants.map((p) => [p.site, p.clipped]),
      [['dijon', false], ['leeds', false], ['mallory', true]],
    );
    assert.ok(Math.abs(participants[2]!.updateNorm! - 1000 * Math.sqrt(PARAMS)) < 1e-3 * 1000 * Math.sqrt(PARAMS));
    allClose(values, (8 * 1 + 6 * 1.5 + 5 * 2) / 19);
  });
});
