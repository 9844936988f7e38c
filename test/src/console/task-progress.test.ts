import assert from 'node:assert/strict';
import { ConsoleViews } from '@lgefed/coordinator/live/console-views';
import { PresenceBoard } from '@lgefed/coordinator/transport/presence';
import { enrolSites, InboxTransport, ManualClock, openEngine, registerModels } from '../coordinator/federation-harness.js';
import { useTempDir } from '../coordinator/temp-dir.js';

const privacy = { spentEpsilon: 0, budgetEpsilon: 0 };

describe('task progress that tells the truth: model k of n for evaluations', () => {
  const dir = useTempDir();

  it('a scored model ends its live progress; the count goes once the task is no longer active', () => {
    const board = new PresenceBoard();
    board.progress('s1', { jobId: 'j', taskId: 't', stage: 'evaluating', fraction: 1, epoch: 0, loss: 0, message: '' });
    board.modelScored('s1', 't', 1);
    assert.deepEqual(board.get('s1').progress, {});
    assert.deepEqual(board.get('s1').modelsScored, { t: 1 });
    board.heartbeat('s1', ['t'], privacy);
    assert.deepEqual(board.get('s1').modelsScored, { t: 1 });
    board.heartbeat('s1', [], privacy);
    assert.deepEqual(board.get('s1').modelsScored, {});
  });

  it('an evaluation of three models advances over all three, never back, with no ETA from one model’s rate', async () => {
    const transport = new InboxTransport();
    const { state, engine } = await openEngine(dir(), new ManualClock(), transport);
    const ids = await enrolSites(state, ['dijon']);
    const hashes = ['a', 'b', 'c'].map((c) => c.repeat(64));
    registerModels(state, ...hashes);
    const job = await engine.submit('evaluate', { sites: ['dijon'], models: hashes.map((hash, i) => ({ label: `m${i}`, hash })) }, 'admin:ann');
    const taskId = transport.take(ids.get('dijon')!)[0]!.taskId;
    const board = new PresenceBoard();
    const views = new ConsoleViews(state, (siteId) => board.get(siteId));
    const task = () => views.job(job.id).rounds[0]!.tasks[0]!;
    const report = (fraction: number) => board.progress(ids.get('dijon')!, { jobId: job.id, taskId, stage: 'evaluating', fraction, epoch: 0, loss: 0, message: '' });

    assert.deepEqual([task().fraction, task().models, task().stage], [0, { scored: 0, total: 3 }, null], 'queued: nothing reported yet');
    const seen: number[] = [];
    for (let model = 0; model < 3; model++) {
      for (const f of [0.5, 1]) {
        report(f);
        views.sample();
        seen.push(task().fraction!);
        assert.equal(task().etaSeconds, null);
      }
      board.modelScored(ids.get('dijon')!, taskId, model + 1);
      seen.push(task().fraction!);
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, `went back: ${seen.join(' ')}`);
    assert.deepEqual(seen.map((f) => Math.round(f * 6)), [1, 2, 2, 3, 4, 4, 5, 6, 6]);
    assert.deepEqual(task().models, { scored: 3, total: 3 });
    state.close();
  });
});
