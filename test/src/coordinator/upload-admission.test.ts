import assert from 'node:assert/strict';
import { defaultMessage, packModel, type MessageTypes, type OpenedAny } from '@lgefed/protocol';
import { parameterLayout } from '@lgefed/shared/model/weights';
import { unetSpec } from '@lgefed/shared/model/spec';
import { ARCH } from './federation-harness.js';
import { constantWeights, coordinatorWithHandSites } from './hand-site.js';

const refusal = (reply: OpenedAny): string => {
  assert.equal(reply.header.msg, 'ErrorReport', JSON.stringify(reply.message));
  return (reply.message as MessageTypes['ErrorReport']).message;
};

describe('coordinator: weights are uploaded only against an assigned train task, at its size (issue 13, medium 12)', function () {
  this.timeout(60_000);
  const fixture = coordinatorWithHandSites('uploads', { leeds: 4 });

  it('refuses a manifest with no task, of another architecture or layout, or beyond one per task; accepts the task result', async () => {
    const { coordinator } = fixture;
    const site = fixture.sites['leeds']!;
    // Any enrolled site could otherwise upload models of up to 1 GiB, as many as it likes, kept forever.
    const tiny = packModel([{ name: 'w', shape: [16], data: new Float32Array(16) }], { modelId: '', architecture: { ...defaultMessage('ArchitectureSpec'), name: ARCH, parameterCount: 16 } });
    assert.match(refusal(await site.send('ModelManifest', tiny.manifest)), /no train task is assigned to this site/);

    const job = await coordinator.engine.submit('train', { site: 'leeds', architecture: ARCH, config: { epochs: 1, seed: 1 } }, 'admin');
    const task = await site.nextTask();
    // The paper network (31 M parameters, 124 MB) while the task trains the tiny one: refused before any allocation.
    const paper = packModel(
      parameterLayout(unetSpec('paper')).map(({ name, shape }) => ({ name, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) })),
      { modelId: '', architecture: { ...task.model.architecture, name: 'paper', parameterCount: 0 } },
    );
    assert.match(refusal(await site.send('ModelManifest', paper.manifest)), /no train task assigned to this site trains "paper"/);
    // The task's architecture name over another layout.
    assert.match(refusal(await site.send('ModelManifest', tiny.manifest)), /the manifest lists 1 tensors, .* has \d+/);

    const weights = constantWeights(task, 0.25);
    const wanted = await site.send('ModelManifest', weights.manifest);
    assert.equal(wanted.header.msg, 'ChunkRequest');
    // One task, one open upload.
    assert.match(refusal(await site.send('ModelManifest', constantWeights(task, 0.5).manifest)), /1 upload\(s\) already open for 1 assigned train task/);

    await site.upload(weights);
    assert.equal((await site.trainResult(task, weights, 4)).header.msg, 'Ack');
    assert.equal(coordinator.state.jobs.job(job.id).status, 'completed');
    // The task is done: nothing more may be uploaded.
    assert.match(refusal(await site.send('ModelManifest', constantWeights(task, 0.75).manifest)), /no train task is assigned/);
  });

  it('keeps progress only for a task the site was sent', async () => {
    const { coordinator } = fixture;
    const site = fixture.sites['leeds']!;
    const job = await coordinator.engine.submit('train', { site: 'leeds', architecture: ARCH, config: { epochs: 1, seed: 2 } }, 'admin');
    const task = await site.nextTask();
    const progress = (taskId: string) => site.send('Progress', { ...defaultMessage('Progress'), jobId: job.id, taskId, fraction: 0.5 });
    for (let i = 0; i < 50; i++) assert.equal((await progress(`made-up-${i}`)).header.msg, 'Ack');
    assert.equal((await progress(task.taskId)).header.msg, 'Ack');
    assert.deepEqual(Object.keys(coordinator.channel!.presence(site.siteId).progress), [task.taskId]);
  });
});
