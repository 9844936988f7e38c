import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMessage, type MessageTypes } from '@lgefed/protocol';
import { parseSiteConfig } from '@lgefed/site-agent/config';
import { filterOutbound } from '@lgefed/site-agent/policy';
import { spawnCli, TINY_ARCH, TINY_ARCH_HASH, writeTinyDataset, type Proc } from '../federation/harness.js';
import { StandInCoordinator } from './stand-in-coordinator.js';

describe('site agent: no weights leave unless trained on minCasesForWeights cases (issue 13, high 6)', function () {
  this.timeout(180_000);
  let dir = '';
  let coordinator: StandInCoordinator;
  let agent: Proc | undefined;
  let trainCases = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lgefed-weights-'));
    await writeTinyDataset(join(dir, 'data'), 8, 3);
    coordinator = await StandInCoordinator.start();
    await coordinator.writeKit(join(dir, 'kit.json'));
    // No minCasesForWeights in the file: the default (3) applies.
    await writeFile(join(dir, 'site.json'), JSON.stringify({ stateDir: 'state', datasets: [{ name: 'lge', path: 'data' }], split: { seed: 1, validation: 0, test: 0.25 }, backend: 'cpu', policy: { approvedArchitectures: [TINY_ARCH_HASH] } }));
    const connected = coordinator.connected();
    agent = spawnCli('site', 'start', '--kit', join(dir, 'kit.json'), '--config', join(dir, 'site.json'));
    await connected;
    const split = JSON.parse(await readFile(join(dir, 'state', 'split-lge.json'), 'utf8')) as { cases: Record<string, string> };
    trainCases = Object.values(split.cases).filter((s) => s === 'train').length;
    assert.ok(trainCases >= 3, `${trainCases} training cases`);
  });
  after(async () => {
    await agent?.kill();
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const train = (taskId: string, dataFraction: number, caseCount = 0) =>
    coordinator.assign({
      jobId: 'job',
      taskId,
      kind: 'TASK_KIND_TRAIN',
      model: { ...defaultMessage('TaskAssignment').model, architecture: { ...defaultMessage('TaskAssignment').model.architecture, name: TINY_ARCH } },
      hyperParameters: { ...defaultMessage('TaskAssignment').hyperParameters, epochs: 1, batchSize: 4, seed: 1, dataFraction, caseCount },
    });

  it('refuses a coordinator asking for weights trained on one patient, before any training', async () => {
    const reply = await train('one-patient', 1 / trainCases);
    assert.equal(reply.header.msg, 'ErrorReport');
    assert.match((reply.message as MessageTypes['ErrorReport']).message, /^\[policy_min_cases\] weights trained on 1 case\(s\) stay at the site; .* at least 3/);
    assert.equal(coordinator.chunks, 0);
    assert.ok(!coordinator.received.some((m) => m.header.msg === 'ModelManifest'));
  });

  it('lets weights trained on enough cases leave, with the count in the result', async () => {
    assert.equal((await train('enough', 1)).header.msg, 'Ack');
    const result = await coordinator.about('enough', 120_000);
    assert.equal(result.header.msg, 'TrainResult', JSON.stringify(result.message));
    assert.equal((result.message as MessageTypes['TrainResult']).sampleCount, trainCases);
    assert.ok(coordinator.chunks > 0);
  });

  it('trains on exactly caseCount cases when asked (the balanced design), refusing a count below the policy first', async () => {
    const few = await train('count-one', 0, 1);
    assert.equal(few.header.msg, 'ErrorReport');
    assert.match((few.message as MessageTypes['ErrorReport']).message, /^\[policy_min_cases\] weights trained on 1 case\(s\) stay at the site/);
    const both = await train('count-and-fraction', 0.5, 3);
    assert.equal(both.header.msg, 'ErrorReport');
    assert.match((both.message as MessageTypes['ErrorReport']).message, /both a data fraction and a case count/);
    assert.equal((await train('count-three', 0, 3)).header.msg, 'Ack');
    const result = await coordinator.about('count-three', 120_000);
    assert.equal(result.header.msg, 'TrainResult', JSON.stringify(result.message));
    assert.equal((result.message as MessageTypes['TrainResult']).sampleCount, 3);
    assert.ok(trainCases > 3, 'a count below the split, so the whole split would have given another number');
  });

  it('the outbound filter refuses a TrainResult over fewer cases, whatever produced it', () => {
    const policy = parseSiteConfig({ stateDir: 's', datasets: [{ name: 'a', path: 'a' }] }, join(dir, 'site.json')).policy;
    assert.equal(policy.minCasesForWeights, 3);
    assert.throws(() => filterOutbound(policy, 'TrainResult', { ...defaultMessage('TrainResult'), sampleCount: 2 }), { code: 'policy_min_cases' });
    assert.doesNotThrow(() => filterOutbound(policy, 'TrainResult', { ...defaultMessage('TrainResult'), sampleCount: 3 }));
  });
});
