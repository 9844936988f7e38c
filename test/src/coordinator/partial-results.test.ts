import assert from 'node:assert/strict';
import { defaultMessage, type MessageTypes } from '@lgefed/protocol';
import { encodeWeights } from '@lgefed/protocol/weights-file';
import { startCoordinator } from '@lgefed/coordinator/server';
import { ARCH, LAYOUT, PARAMS } from './federation-harness.js';
import { dataset, HandSite } from './hand-site.js';
import { useTempDir } from './temp-dir.js';

type TaskAssignment = MessageTypes['TaskAssignment'];

/** One model's scores, as an agent reports them: n, mean and sd of Dice per structure. */
function evaluation(site: HandSite, task: TaskAssignment, dice: number): MessageTypes['EvaluationResult'] {
  const aggregate = (structure: 'STRUCTURE_BLOODPOOL' | 'STRUCTURE_MYOCARDIUM', mean: number) => ({ ...defaultMessage('AggregateMetrics'), structure, caseCount: 5, meanDice: mean, stdDice: 0.02 });
  return { ...defaultMessage('EvaluationResult'), jobId: task.jobId, taskId: task.taskId, round: task.round, siteId: site.siteId, model: task.model, aggregates: [aggregate('STRUCTURE_BLOODPOOL', dice), aggregate('STRUCTURE_MYOCARDIUM', dice - 0.1)] };
}

/**
 * Issue 13 (medium 9): the results of a multi-model evaluation that the coordinator acknowledged
 * survive its restart: the task completes when the remaining models arrive, nothing is asked twice.
 */
describe('coordinator: a restart mid-evaluation keeps the models already scored (issue 13, medium 9)', function () {
  this.timeout(60_000);
  const dir = useTempDir();

  it("completes a two-model evaluation whose first model was acknowledged before a restart, with both models' scores", async () => {
    let coordinator = await startCoordinator({ stateDir: dir(), port: 0 });
    let site: HandSite | undefined;
    try {
      const hashes = [];
      for (const value of [0.1, 0.2]) {
        const hash = await coordinator.state.models.put(encodeWeights(LAYOUT, new Float32Array(PARAMS).fill(value)));
        coordinator.state.jobs.registerModel(hash, ARCH, PARAMS, 'test');
        hashes.push(hash);
      }
      site = await HandSite.join(coordinator, 'leeds', [dataset(8)]);
      const job = await coordinator.engine.submit('evaluate', { sites: ['leeds'], models: [{ label: 'first', hash: hashes[0] }, { label: 'second', hash: hashes[1] }] }, 'admin');
      const [first, second] = [await site.nextTask(), await site.nextTask()];
      assert.deepEqual([first!.model.modelId, second!.model.modelId], hashes);
      assert.equal((await site.send('EvaluationResult', evaluation(site, first!, 0.9))).header.msg, 'Ack');

      await coordinator.close();
      coordinator = await startCoordinator({ stateDir: dir(), port: 0 });
      site = await site.reconnect(coordinator, [dataset(8)]);
      assert.equal(coordinator.state.jobs.job(job.id).status, 'running');
      assert.equal((await site.send('EvaluationResult', evaluation(site, second!, 0.8))).header.msg, 'Ack');

      const done = coordinator.state.jobs.job(job.id);
      assert.equal(done.status, 'completed', done.failure ?? '');
      const [result] = coordinator.state.jobs.roundResults(job.id, 0);
      const metrics = result!.metrics as Record<string, { bloodpool: { mean: number } }>;
      assert.deepEqual(Object.keys(metrics).sort(), ['first', 'second']);
      assert.ok(Math.abs(metrics['first']!.bloodpool.mean - 0.9) < 1e-6 && Math.abs(metrics['second']!.bloodpool.mean - 0.8) < 1e-6, JSON.stringify(metrics));
      assert.deepEqual(coordinator.state.jobs.partialResults(result!.taskId), [], 'nothing kept once the task completed');
    } finally {
      site?.close();
      await coordinator.close();
    }
  });
});
