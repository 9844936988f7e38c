import assert from 'node:assert/strict';
import { ProgressTracker } from '@lgefed/coordinator/live/progress-tracker';

describe('task progress tracker (ETA and live loss curve)', () => {
  it('estimates the time left from the rate observed since the task was first seen', () => {
    let now = 1_000_000;
    const tracker = new ProgressTracker(() => now);
    tracker.observe('t', { stage: 'training', fraction: 0.1, epoch: 1, loss: 1.5 });
    assert.equal(tracker.etaSeconds('t'), null, 'no rate before the task has moved');
    now += 10_000;
    tracker.observe('t', { stage: 'training', fraction: 0.3, epoch: 2, loss: 1.2 });
    // 0.2 in 10 s → the remaining 0.7 take 35 s.
    assert.ok(Math.abs(tracker.etaSeconds('t')! - 35) < 1e-9);
    now += 5_000; // no new report: the estimate counts down
    assert.ok(Math.abs(tracker.etaSeconds('t')! - 30) < 1e-9);
    assert.equal(tracker.etaSeconds('unknown'), null);
  });

  it('keeps the latest training loss per epoch, in epoch order, and forgets the oldest task beyond its bound', () => {
    const tracker = new ProgressTracker(() => 0, 2);
    tracker.observe('a', { stage: 'training', fraction: 0.5, epoch: 2, loss: 0.8 });
    tracker.observe('a', { stage: 'training', fraction: 0.2, epoch: 1, loss: 1.0 });
    tracker.observe('a', { stage: 'training', fraction: 0.6, epoch: 2, loss: 0.7 });
    tracker.observe('a', { stage: 'evaluating', fraction: 0.9, epoch: 3, loss: 0 });
    assert.deepEqual(tracker.losses('a'), [{ epoch: 1, loss: 1.0 }, { epoch: 2, loss: 0.7 }]);
    tracker.observe('b', { stage: 'training', fraction: 0.1, epoch: 1, loss: 2 });
    tracker.observe('c', { stage: 'training', fraction: 0.1, epoch: 1, loss: 2 });
    assert.deepEqual(tracker.losses('a'), []);
    assert.equal(tracker.losses('c').length, 1);
  });
});
