import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMessage, type MessageTypes } from '@lgefed/protocol';
import { resolveArchitecture } from '@lgefed/site-agent/architecture';
import { parseSiteConfig } from '@lgefed/site-agent/config';
import { filterOutbound } from '@lgefed/site-agent/policy';
import { initialWeights } from '@lgefed/shared/model/weights';
import { spawnCli, TINY_ARCH, TINY_ARCH_HASH, writeTinyDataset, type Proc } from '../federation/harness.js';
import { StandInCoordinator } from './stand-in-coordinator.js';

describe('site agent: aggregate metrics carry only the statistics the policy names (issue 13, high 5)', function () {
  this.timeout(180_000);
  let dir = '';
  let coordinator: StandInCoordinator;
  let agent: Proc | undefined;
  const testCases: Record<string, number> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lgefed-metrics-'));
    await writeTinyDataset(join(dir, 'big'), 12, 5);
    await writeTinyDataset(join(dir, 'small'), 6, 6);
    coordinator = await StandInCoordinator.start();
    await coordinator.writeKit(join(dir, 'kit.json'));
    // Default metrics policy: aggregates only, n / mean / sd, at least 5 cases.
    const datasets = ['big', 'small'].map((name) => ({ name, path: name }));
    await writeFile(join(dir, 'site.json'), JSON.stringify({ stateDir: 'state', datasets, split: { seed: 2, validation: 0, test: 0.5 }, backend: 'cpu', policy: { approvedArchitectures: [TINY_ARCH_HASH] } }));
    const connected = coordinator.connected();
    agent = spawnCli('site', 'start', '--kit', join(dir, 'kit.json'), '--config', join(dir, 'site.json'));
    await connected;
    for (const name of ['big', 'small']) {
      const split = JSON.parse(await readFile(join(dir, 'state', `split-${name}.json`), 'utf8')) as { cases: Record<string, string> };
      testCases[name] = Object.values(split.cases).filter((s) => s === 'test').length;
    }
    assert.ok(testCases['big']! >= 5 && testCases['small']! < 5, JSON.stringify(testCases));
  });
  after(async () => {
    await agent?.kill();
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const evaluate = (taskId: string, dataset: string) =>
    coordinator.assignWithModel({ jobId: 'job', taskId, kind: 'TASK_KIND_EVALUATE', dataset }, TINY_ARCH, initialWeights(resolveArchitecture(TINY_ARCH), 1));

  it('sends n, mean and sd of Dice, and no median, HD95, volume error or per-case score', async () => {
    assert.equal((await evaluate('scored', 'big')).header.msg, 'Ack');
    const reply = await coordinator.about('scored', 120_000);
    assert.equal(reply.header.msg, 'EvaluationResult', JSON.stringify(reply.message));
    const result = reply.message as MessageTypes['EvaluationResult'];
    assert.deepEqual(result.cases, []);
    assert.equal(result.aggregates.length, 2);
    for (const a of result.aggregates) {
      assert.equal(a.caseCount, testCases['big']);
      assert.deepEqual([a.medianDice, a.meanHd95Mm, a.medianHd95Mm, a.meanAbsVolumeErrorMl], [0, 0, 0, 0], a.structure);
    }
  });

  it('sends an acknowledged result again when the coordinator asks for the same model of the task again (issue 13, medium 9)', async () => {
    assert.equal((await evaluate('asked-twice', 'big')).header.msg, 'Ack');
    const first = await coordinator.about('asked-twice', 120_000);
    assert.equal(first.header.msg, 'EvaluationResult', JSON.stringify(first.message));
    // What a coordinator that lost the acknowledged result does on reconnect: the same assignment.
    assert.equal((await evaluate('asked-twice', 'big')).header.msg, 'Ack');
    const results = () => coordinator.received.filter((m) => m.header.msg === 'EvaluationResult' && (m.message as { taskId: string }).taskId === 'asked-twice');
    for (let i = 0; i < 200 && results().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const [once, again] = results();
    assert.ok(again, 'the result was sent again');
    assert.notEqual(again.header.jti, once!.header.jti, 'as a new message');
    assert.deepEqual(again.message, once!.message, 'with the same scores, not a second evaluation');
  });

  it('scores with the test-time passes the task asks for, and refuses scales out of bounds before running anything', async () => {
    const scored = async (taskId: string, inference: MessageTypes['InferenceOptions']) => {
      assert.equal((await coordinator.assignWithModel({ jobId: 'job', taskId, kind: 'TASK_KIND_EVALUATE', dataset: 'big', inference }, TINY_ARCH, initialWeights(resolveArchitecture(TINY_ARCH), 1))).header.msg, 'Ack');
      const reply = await coordinator.about(taskId, 120_000);
      assert.equal(reply.header.msg, 'EvaluationResult', JSON.stringify(reply.message));
      return (reply.message as MessageTypes['EvaluationResult']).aggregates.map((a) => a.meanDice);
    };
    const onePass = await scored('one-pass', { mirror: false, scales: [] });
    const averaged = await scored('averaged', { mirror: true, scales: [0.5, 1] });
    assert.ok(onePass.some((d) => d > 0), `the untrained network labels some of each structure: ${onePass}`);
    assert.notDeepEqual(averaged, onePass, 'the same model scored with mirroring and a half-spacing pass labels differently');

    const refused = await coordinator.assignWithModel({ jobId: 'job', taskId: 'too-fine', kind: 'TASK_KIND_EVALUATE', dataset: 'big', inference: { mirror: false, scales: [0.1] } }, TINY_ARCH, initialWeights(resolveArchitecture(TINY_ARCH), 1));
    assert.equal(refused.header.msg, 'ErrorReport');
    assert.match((refused.message as MessageTypes['ErrorReport']).message, /^\[unsupported_task\] inference scales must be 1 to 8 factors from 0\.25 to 4, got \[0\.1\]/);
  });

  it('refuses metrics over fewer than 5 cases by default', async () => {
    const reply = await evaluate('too-few', 'small');
    assert.equal(reply.header.msg, 'ErrorReport');
    assert.match((reply.message as MessageTypes['ErrorReport']).message, /^\[policy_min_cases\] the test split has \d case\(s\); local policy releases metrics over at least 5/);
  });

  it('lets a statistic leave only when the policy names it; n is always among them', () => {
    const file = join(dir, 'site.json');
    const policy = parseSiteConfig({ stateDir: 's', datasets: [{ name: 'a', path: 'a' }], policy: { aggregateStatistics: ['n', 'mean', 'median'] } }, file).policy;
    const aggregate = { structure: 'STRUCTURE_MYOCARDIUM' as const, caseCount: 6, meanDice: 0.8, stdDice: 0.1, medianDice: 0.82, meanHd95Mm: 4, medianHd95Mm: 3, meanAbsVolumeErrorMl: 2 };
    const sent = filterOutbound(policy, 'FineTuneResult', { ...defaultMessage('FineTuneResult'), aggregates: [aggregate] });
    assert.deepEqual(sent.aggregates[0], { ...aggregate, stdDice: 0, meanHd95Mm: 0, medianHd95Mm: 0, meanAbsVolumeErrorMl: 0 });
    assert.throws(() => parseSiteConfig({ stateDir: 's', datasets: [{ name: 'a', path: 'a' }], policy: { aggregateStatistics: ['mean'] } }, file), /aggregateStatistics lists n/);
  });
});
