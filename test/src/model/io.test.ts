import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fromArchitectureSpec,
  initialWeights,
  loadModel,
  ModelSpecError,
  modelId,
  PRESETS,
  saveModel,
  toArchitectureSpec,
  unetSpec,
} from '@lgefed/shared/model/index';
import { tinySpec } from './tiny.js';

describe('model: float16 files and protocol architecture', () => {
  it('saves float16 at half the size; load returns the rounded weights under the id it was saved with', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'lgefed-f16-'));
    try {
      const weights = initialWeights(tinySpec, 4);
      const id32 = await saveModel(join(directory, 'f32'), tinySpec, weights);
      const id16 = await saveModel(join(directory, 'f16'), tinySpec, weights, { dtype: 'float16' });
      assert.notEqual(id16, id32);
      const [size32, size16] = [(await stat(join(directory, 'f32', 'weights.bin'))).size, (await stat(join(directory, 'f16', 'weights.bin'))).size];
      assert.equal(size16 * 2, size32);
      const loaded = await loadModel(join(directory, 'f16'));
      assert.equal(loaded.id, id16);
      assert.equal(modelId(tinySpec, loaded.weights), id16);
      loaded.weights.forEach((t, i) =>
        t.data.forEach((v, j) => {
          const original = weights[i]!.data[j]!;
          assert.ok(Math.abs(v - original) <= Math.abs(original) * 2 ** -11 + 2 ** -24, `${t.name}[${j}]`);
        }),
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('converts specs to and from the protocol ArchitectureSpec', () => {
    for (const spec of [PRESETS.lite, PRESETS.paper]) {
      const wire = toArchitectureSpec(spec);
      assert.equal(wire.depth, spec.stages - 1);
      assert.deepEqual(fromArchitectureSpec(wire), spec);
    }
    // A feature cap below base·2^(stages−1) travels in maxFilters; 0 (older senders) means uncapped.
    const capped = unetSpec('lite', { maxFeatures: 64 });
    assert.equal(toArchitectureSpec(capped).maxFilters, 64);
    assert.deepEqual(fromArchitectureSpec(toArchitectureSpec(capped)), capped);
    assert.deepEqual(fromArchitectureSpec({ ...toArchitectureSpec(PRESETS.lite), maxFilters: 0 }), PRESETS.lite);
    assert.throws(() => fromArchitectureSpec({ ...toArchitectureSpec(PRESETS.lite), parameterCount: 5 }), ModelSpecError);
    assert.throws(() => fromArchitectureSpec({ ...toArchitectureSpec(PRESETS.lite), inputHeight: 64 }), ModelSpecError);
  });
});
