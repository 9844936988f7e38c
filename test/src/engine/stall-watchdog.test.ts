import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StallWatchdog, type Stall } from '@lgefed/shared/engine/stall-watchdog';

/** Waits (up to 20 s) until `stalls` holds a stall. */
async function firstStall(stalls: readonly Stall[]): Promise<Stall> {
  for (let waited = 0; stalls.length === 0 && waited < 20_000; waited += 50) await sleep(50);
  assert.equal(stalls.length, 1, 'one stall, reported once');
  return stalls[0]!;
}

describe('engine: the stall watchdog of training workers', () => {
  it('allows three times as long before the first step, stays quiet while the worker speaks, and fires once on silence', async () => {
    const stalls: Stall[] = [];
    const watchdog = new StallWatchdog({ minimumSeconds: 1, onStall: (s) => stalls.push(s) });
    try {
      await sleep(1500); // engine start: no step yet, so 3 s are allowed
      assert.equal(stalls.length, 0);
      watchdog.stepped();
      for (let i = 0; i < 15; i++) {
        await sleep(100);
        watchdog.heard();
      }
      assert.equal(stalls.length, 0, 'a worker that keeps talking is not stalled');
      const stall = await firstStall(stalls);
      assert.ok(stall.silentSeconds >= 1);
      assert.equal(stall.kernel, undefined, 'no kernel was running');
      await sleep(300);
      assert.equal(stalls.length, 1);
    } finally {
      watchdog.stop();
    }
  });

  it('declares a worker that never reaches its first step stalled after firstStepSeconds', async () => {
    const stalls: Stall[] = [];
    const watchdog = new StallWatchdog({ minimumSeconds: 60, firstStepSeconds: 0.5, onStall: (s) => stalls.push(s) });
    try {
      watchdog.kernels(['Conv2D']);
      Atomics.store(watchdog.slot, 0, 0); // hung inside the first step's first kernel
      const stall = await firstStall(stalls);
      assert.ok(stall.silentSeconds >= 0.5 && stall.silentSeconds < 60);
      assert.equal(stall.kernel, 'Conv2D');
    } finally {
      watchdog.stop();
    }
    assert.throws(() => new StallWatchdog({ minimumSeconds: 1, firstStepSeconds: 0, onStall: () => {} }), RangeError);
  });

  it('waits at least 20 median steps when steps are slow, and names the kernel the worker is inside', async () => {
    const stalls: Stall[] = [];
    const watchdog = new StallWatchdog({ minimumSeconds: 0.05, onStall: (s) => stalls.push(s) });
    try {
      watchdog.kernels(['Conv2D', 'Conv2DBackpropFilter']);
      watchdog.stepped();
      const afterFirst = performance.now();
      await sleep(40);
      const beforeSecond = performance.now();
      watchdog.stepped(); // one step of at least (beforeSecond - afterFirst) ms
      Atomics.store(watchdog.slot, 0, 1); // the worker entered kernel #1 and never left
      const stall = await firstStall(stalls);
      assert.ok(stall.silentSeconds >= (20 * (beforeSecond - afterFirst)) / 1000, `${stall.silentSeconds} s is less than 20 steps`);
      assert.equal(stall.kernel, 'Conv2DBackpropFilter');
    } finally {
      watchdog.stop();
    }
  });
});
