import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMessage, type MessageTypes } from '@lgefed/protocol';
import { spawnCli, TINY_ARCH, TINY_ARCH_HASH, writeTinyDataset, type Proc } from '../federation/harness.js';
import { StandInCoordinator } from './stand-in-coordinator.js';

describe('site agent: an error leaves with a code and a site-safe message only (issue 13, low)', function () {
  this.timeout(180_000);
  let dir = '';
  let coordinator: StandInCoordinator;
  let agent: Proc | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lgefed-errors-'));
    await writeTinyDataset(join(dir, 'patients-of-dr-jones'), 6, 3);
    coordinator = await StandInCoordinator.start();
    await coordinator.writeKit(join(dir, 'kit.json'));
    await writeFile(join(dir, 'site.json'), JSON.stringify({ stateDir: 'state', datasets: [{ name: 'lge', path: 'patients-of-dr-jones' }], split: { seed: 1, validation: 0, test: 0.25 }, backend: 'cpu', policy: { approvedArchitectures: [TINY_ARCH_HASH], minCasesForWeights: 1 } }));
    const connected = coordinator.connected();
    agent = spawnCli('site', 'start', '--kit', join(dir, 'kit.json'), '--config', join(dir, 'site.json'));
    await connected;
  });
  after(async () => {
    await agent?.kill();
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a task that fails reading the data sends its error class and a log reference, not the path or the text', async () => {
    const data = join(dir, 'patients-of-dr-jones');
    // The data goes away under the running agent: reading it fails with the folder's absolute path in the error.
    await rm(data, { recursive: true, force: true });
    const assignment = defaultMessage('TaskAssignment');
    const reply = await coordinator.assign({
      jobId: 'job',
      taskId: 'fails',
      kind: 'TASK_KIND_TRAIN',
      model: { ...assignment.model, architecture: { ...assignment.model.architecture, name: TINY_ARCH } },
      hyperParameters: { ...assignment.hyperParameters, epochs: 1, batchSize: 4, seed: 1, dataFraction: 1 },
    });
    assert.equal(reply.header.msg, 'Ack');
    const report = await coordinator.about('fails', 120_000);
    assert.equal(report.header.msg, 'ErrorReport');
    const { code, message } = report.message as MessageTypes['ErrorReport'];
    assert.equal(code, 'ERROR_CODE_TASK_FAILED');
    const [, ref] = /^\[task_failed\] DataError: details are in the site's log \(ref ([0-9a-f]{8})\)$/.exec(message) ?? [];
    assert.ok(ref, message);
    assert.doesNotMatch(message, /dr-jones|\//);
    // The site's own log has the full text under that reference.
    await agent!.waitFor(new RegExp(`error ref ${ref} \\(not sent to the coordinator\\): .*patients-of-dr-jones`));
    // And the agent's record of what it sent has the report.
    const sent = (await readFile(join(dir, 'state', 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { direction: string; type: string });
    assert.ok(sent.some((e) => e.direction === 'out' && e.type === 'ErrorReport'));
  });
});
