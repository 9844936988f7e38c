import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReferenceProfile } from '@lgefed/shared/harmonise/index';
import type { MessageTypes } from '@lgefed/protocol';
import { readAgentAudit } from '@lgefed/site-agent/audit-log';
import { discreteLaplace } from '@lgefed/site-agent/privacy/discrete-laplace';
import { PATIENT_SENSITIVITY } from '@lgefed/site-agent/privacy/histogram-release';
import { spawnCli, TINY_ARCH_HASH, writeTinyDataset, type Proc } from '../federation/harness.js';
import { StandInCoordinator } from './stand-in-coordinator.js';

describe('site agent: differential privacy under the site’s control (issue 13, critical 2)', function () {
  this.timeout(120_000);
  let dir = '';
  let coordinator: StandInCoordinator;
  let agent: Proc | undefined;
  let reference: ReturnType<typeof buildReferenceProfile>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lgefed-dp-'));
    await writeTinyDataset(join(dir, 'data'), 6, 1);
    reference = buildReferenceProfile(await writeTinyDataset(join(dir, 'reference'), 3, 77), { bins: 16 });
    coordinator = await StandInCoordinator.start();
    await coordinator.writeKit(join(dir, 'kit.json'));
    await writeFile(join(dir, 'site.json'), JSON.stringify({ stateDir: 'state', datasets: [{ name: 'lge', path: 'data' }], backend: 'cpu', policy: { approvedArchitectures: [TINY_ARCH_HASH], maxHistogramEpsilon: 1, privacyBudgetEpsilon: 1.5 } }));
  });
  after(async () => {
    await agent?.kill();
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const startAgent = async () => {
    const connected = coordinator.connected();
    agent = spawnCli('site', 'start', '--kit', join(dir, 'kit.json'), '--config', join(dir, 'site.json'));
    await connected;
  };
  /** A harmonisation check as a hostile coordinator would ask for it: with a vanishing sensitivity. */
  const check = async (taskId: string, epsilon: number) => {
    const ack = await coordinator.assign({ jobId: 'job', taskId, kind: 'TASK_KIND_HARMONISATION_CHECK', harmonisation: { ...reference, histogram: { ...reference.histogram }, epsilon, sensitivity: 1e-12 } });
    assert.equal(ack.header.msg, 'Ack');
    return coordinator.about(taskId);
  };
  const refusalOf = (m: Awaited<ReturnType<typeof check>>) => {
    assert.equal(m.header.msg, 'ErrorReport');
    const report = m.message as MessageTypes['ErrorReport'];
    assert.equal(report.retryable, false);
    return report.message;
  };
  const ledger = async () => JSON.parse(await readFile(join(dir, 'state', 'privacy-ledger.json'), 'utf8')) as { releases: { taskId: string; microEpsilon: number }[] };

  it('noises by its own per-patient sensitivity, whatever the coordinator sends, and refuses a release beyond its ε budget', async () => {
    await startAgent();
    const first = await check('t1', 1);
    assert.equal(first.header.msg, 'HarmonisationReport');
    const report = first.message as MessageTypes['HarmonisationReport'];
    assert.deepEqual(report.privacy, { mechanism: 'discrete-laplace', epsilon: 1, sensitivity: PATIENT_SENSITIVITY, scale: PATIENT_SENSITIVITY / 1 });
    assert.equal(report.caseCount, 6);

    assert.match(refusalOf(await check('t2', 1)), /^\[policy_privacy_budget\] .*would spend 2 of the site's total privacy budget of ε = 1\.5/);
    assert.deepEqual((await ledger()).releases.map((r) => [r.taskId, r.microEpsilon]), [['t1', 1_000_000]]);
    const audit = await readAgentAudit(join(dir, 'state', 'audit.jsonl'));
    assert.equal(audit.filter((e) => e.type === 'HarmonisationReport').length, 1, 'the refused task released nothing');
    assert.match(audit.find((e) => e.type === 'privacy.refused')?.note ?? '', /policy_privacy_budget/);
    // The heartbeat tells the coordinator what the site's own ledger says.
    const seen = coordinator.received.length;
    await new Promise((r) => setTimeout(r, 1200));
    const heartbeat = coordinator.received.slice(seen).find((m) => m.header.msg === 'Heartbeat');
    assert.deepEqual((heartbeat?.message as MessageTypes['Heartbeat'] | undefined)?.privacy, { spentEpsilon: 1, budgetEpsilon: 1.5 });
  });

  it('keeps the ledger across restarts: what was spent stays spent', async () => {
    await agent!.kill();
    await startAgent();
    assert.equal((await check('t3', 0.5)).header.msg, 'HarmonisationReport', 'ε 0.5 still fits: 1 + 0.5 = 1.5');
    assert.match(refusalOf(await check('t4', 0.01)), /\[policy_privacy_budget\]/);
    assert.deepEqual((await ledger()).releases.map((r) => [r.taskId, r.microEpsilon]), [['t1', 1_000_000], ['t3', 500_000]]);
  });

  it('samples the discrete Laplace distribution exactly (integer arithmetic only)', () => {
    const p = Math.exp(-1 / 2);
    const draws = Array.from({ length: 20_000 }, () => discreteLaplace(1, 2));
    assert.ok(draws.every(Number.isInteger));
    const zero = draws.filter((x) => x === 0).length / draws.length;
    assert.ok(Math.abs(zero - (1 - p) / (1 + p)) < 0.015, `P(0) = ${zero}`);
    const meanAbs = draws.reduce((a, x) => a + Math.abs(x), 0) / draws.length;
    assert.ok(Math.abs(meanAbs - (2 * p) / (1 - p * p)) < 0.08, `E|X| = ${meanAbs}`);
    // The release's own parameters (ε = 1 in millionths, Δ = 2 patients of 1000 quanta): scale 2000 quanta.
    const wide = Array.from({ length: 4000 }, () => discreteLaplace(1_000_000, 2000 * 1e6));
    const wideAbs = wide.reduce((a, x) => a + Math.abs(x), 0) / wide.length;
    assert.ok(Math.abs(wideAbs / 2000 - 1) < 0.06, `E|X| = ${wideAbs}`);
    assert.ok(Math.abs(wide.reduce((a, x) => a + x, 0) / wide.length) < 150);
  });
});
