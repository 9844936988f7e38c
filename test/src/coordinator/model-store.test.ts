import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelStore } from '@lgefed/coordinator/model-store';
import { decodeWeights, encodeTensors, encodeWeights } from '@lgefed/protocol/weights-file';
import { useTempDir } from './temp-dir.js';

describe('coordinator: content-addressed model store', () => {
  const dir = useTempDir();

  it('stores weights under their sha256 and reads any parameter range back', async () => {
    const store = new ModelStore(join(dir(), 'models'));
    await store.init();
    const bytes = encodeTensors('unet-test', [
      { name: 'conv/kernel', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
      { name: 'conv/bias', shape: [2], data: Float32Array.from([5, 6]) },
    ]);
    const hash = await store.put(bytes);
    assert.equal(hash, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(await store.put(bytes), hash, 'storing the same weights again is a no-op');
    assert.deepEqual(await readdir(join(dir(), 'models', 'tmp')), [], 'no temp files left behind');

    const reader = await store.open(hash);
    assert.equal(reader.parameterCount, 6);
    assert.equal(reader.header.architecture, 'unet-test');
    assert.deepEqual([...(await reader.read(3, 3))], [4, 5, 6]);
    await assert.rejects(reader.read(4, 3), { code: 'invalid_argument' });
    // Into a caller's buffer (aggregation reuses one per site): a view of it, nothing allocated.
    const buffer = new Float32Array(4).fill(-1);
    const view = await reader.read(1, 2, buffer);
    assert.equal(view.buffer, buffer.buffer);
    assert.deepEqual([...buffer], [2, 3, -1, -1]);
    await assert.rejects(reader.read(0, 5, buffer), { code: 'invalid_argument' });
    await reader.close();
    assert.deepEqual([...decodeWeights(await readFile(store.path(hash))).parameters], [1, 2, 3, 4, 5, 6]);
  });

  it('accepts chunked writes and refuses truncated or foreign content', async () => {
    const store = new ModelStore(join(dir(), 'models'));
    await store.init();
    const bytes = encodeWeights({ architecture: 'a', tensors: [{ name: 'w', shape: [100] }] }, new Float32Array(100).fill(0.5));
    const writer = await store.createWriter();
    for (let i = 0; i < bytes.length; i += 33) await writer.write(bytes.subarray(i, i + 33));
    const hash = await writer.commit();
    assert.ok(await store.has(hash));

    const truncated = await store.createWriter();
    await truncated.write(bytes.subarray(0, bytes.length - 4));
    await assert.rejects(truncated.commit(), { code: 'corrupt_model' });
    await assert.rejects(store.put(Buffer.from('not a model at all')), { code: 'corrupt_model' });
    assert.deepEqual(await readdir(join(dir(), 'models', 'tmp')), []);
    await assert.rejects(store.open('0'.repeat(64)), { code: 'not_found' });
    assert.throws(() => store.path('../../etc/passwd'), { code: 'invalid_argument' });
  });
});
