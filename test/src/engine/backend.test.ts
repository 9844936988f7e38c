import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { checkHeapRoom, EngineError, EngineMemoryError, initEngine, parseBackendRequest, resolveBackend, WASM_HEAP_LIMIT, WASM_HEAP_RESERVE, type EngineInfo } from '@lgefed/shared/engine/index';
import { initialWeights, loadProbabilityEngine } from '@lgefed/shared/model/index';
import { tinySpec } from '../model/tiny.js';

const absent = async (name: string): Promise<unknown> => {
  throw new Error(`Cannot find package '${name}'`);
};

describe('engine: backend selection', function () {
  this.timeout(60_000);
  const savedEnv = process.env['LGEFED_BACKEND'];
  afterEach(() => {
    if (savedEnv === undefined) delete process.env['LGEFED_BACKEND'];
    else process.env['LGEFED_BACKEND'] = savedEnv;
  });
  after(async () => {
    await initEngine({ backend: 'wasm', log: () => {} });
  });

  it('falls back to wasm when neither native package is installed, and says why', async () => {
    const lines: string[] = [];
    const info = await initEngine({ backend: 'auto', importNative: absent, log: (l) => lines.push(l) });
    assert.equal(info.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(info.gpu, false);
    assert.match(info.reason, /skipped tfjs-node-gpu: Cannot find package/);
    assert.match(info.reason, /tfjs-node: Cannot find package/);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /lgefed engine: wasm/);
  });

  it('falls back the same way with the real module loader here (native packages absent)', async () => {
    const info = await initEngine({ backend: 'auto', threads: 1, log: () => {} });
    assert.equal(info.backend, 'wasm');
    assert.match(info.reason, /skipped tfjs-node-gpu/);
  });

  it('runs XNNPACK on several threads when asked', async () => {
    const info = await initEngine({ backend: 'wasm', threads: 2, log: () => {} });
    assert.equal(info.threads, 2, info.reason);
  });

  it('LGEFED_BACKEND forces a backend', async () => {
    process.env['LGEFED_BACKEND'] = 'cpu';
    const info = await initEngine({ importNative: absent, log: () => {} });
    assert.equal(info.backend, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  });

  it('a forced backend that cannot load is an error, not a silent fallback', async () => {
    await assert.rejects(initEngine({ backend: 'tensorflow', importNative: absent, log: () => {} }), (error: Error) => {
      assert.ok(error instanceof EngineError);
      assert.match(error.message, /backend tensorflow was forced but cannot start/);
      return true;
    });
  });

  it('rejects unknown backend names and thread counts with typed errors', async () => {
    assert.throws(() => parseBackendRequest('tpu'), EngineError);
    process.env['LGEFED_BACKEND'] = 'webgl';
    assert.throws(() => initEngine({ log: () => {} }), /unknown backend "webgl"/);
    assert.throws(() => initEngine({ backend: 'wasm', threads: 0, log: () => {} }), EngineError);
  });

  it('reads an empty LGEFED_BACKEND as unset (auto) wherever a backend is chosen', async () => {
    // Systemd units and shells often export the variable empty; inference used to fail on it.
    process.env['LGEFED_BACKEND'] = '';
    assert.equal(resolveBackend(undefined), 'auto');
    assert.equal(resolveBackend('wasm'), 'wasm');
    const engine = await loadProbabilityEngine(tinySpec, initialWeights(tinySpec, 1), { log: () => {} });
    const probabilities = await engine.probabilities(new Float32Array(16 * 16), 1, 16);
    assert.equal(probabilities.length, 16 * 16 * 3);
    await engine.dispose();
  });

  it('starts inside a worker thread and trains a kernel there', async () => {
    const worker = new Worker(new URL('./fixtures/engine-worker.js', import.meta.url), { workerData: { threads: 2 } });
    const result = await new Promise<{ info: EngineInfo; dW: number[] }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.equal(result.info.backend, 'wasm');
    // All-ones input and gradient, same padding: each tap sums the 4x4 positions it overlaps.
    assert.deepEqual(result.dW, [9, 12, 9, 12, 16, 12, 9, 12, 9]);
  });
});

describe('engine: the wasm heap guard', function () {
  it('refuses allocations within the reserve of the 4 GiB wasm limit with a typed error, and allows them below', () => {
    const memory = (bytes: number) => ({ buffer: { byteLength: bytes } as ArrayBufferLike });
    assert.doesNotThrow(() => checkHeapRoom(memory(WASM_HEAP_LIMIT - WASM_HEAP_RESERVE)));
    assert.doesNotThrow(() => checkHeapRoom(undefined));
    assert.throws(() => checkHeapRoom(memory(WASM_HEAP_LIMIT - WASM_HEAP_RESERVE + 65536)), (e: Error) => e instanceof EngineMemoryError && e instanceof EngineError && /4 GiB/.test(e.message));
    assert.throws(() => checkHeapRoom(memory(2 ** 30), 3.5 * 2 ** 30), EngineMemoryError);
  });
});
