import assert from 'node:assert/strict';
import { sendInWindow } from '@lgefed/protocol';

/** A send whose completion the test controls: records starts and the most calls pending at once. */
function controlledSend() {
  const started: number[] = [];
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let most = 0;
  const send = (item: number) =>
    new Promise<void>((resolve, reject) => {
      started.push(item);
      pending.set(item, { resolve, reject });
      most = Math.max(most, pending.size);
    }).finally(() => pending.delete(item));
  return { started, pending, send, most: () => most };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('protocol: chunks in flight (sendInWindow)', () => {
  it('keeps up to `window` sends pending, starts them in order, and sends everything', async () => {
    const c = controlledSend();
    const done = sendInWindow([0, 1, 2, 3, 4, 5, 6], 3, c.send);
    await tick();
    assert.deepEqual(c.started, [0, 1, 2]);
    // Acks out of order: each one lets the next item start.
    c.pending.get(1)!.resolve();
    await tick();
    assert.deepEqual(c.started, [0, 1, 2, 3]);
    while (c.pending.size > 0) {
      for (const { resolve } of [...c.pending.values()]) resolve();
      await tick();
    }
    await done;
    assert.deepEqual(c.started, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(c.most(), 3);
  });

  it('stops starting after the first failure and throws it once the pending sends settle', async () => {
    const c = controlledSend();
    const done = sendInWindow([0, 1, 2, 3, 4, 5], 2, c.send);
    let settled = false;
    void done.catch(() => (settled = true));
    await tick();
    c.pending.get(0)!.reject(new Error('site refused chunk 0'));
    await tick();
    assert.deepEqual(c.started, [0, 1], 'nothing new starts after a failure');
    assert.equal(settled, false, 'waits for the chunk still in flight');
    c.pending.get(1)!.resolve();
    await assert.rejects(done, /site refused chunk 0/);
    assert.deepEqual(c.started, [0, 1]);
  });

  it('handles fewer items than the window, no items, and refuses a window below 1', async () => {
    const c = controlledSend();
    const done = sendInWindow([7], 4, c.send);
    await tick();
    c.pending.get(7)!.resolve();
    await done;
    assert.deepEqual(c.started, [7]);
    await sendInWindow([], 4, c.send);
    await assert.rejects(sendInWindow([1], 0, c.send), RangeError);
  });
});
