import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialWeights, modelId, WEIGHTS_FILE } from '@lgefed/shared/model/index';
import { loadModelDirectory, roundToFloat16, saveModelDirectory, WorkflowError, type TrainingRecord } from '@lgefed/shared/workflows/index';
import { tinySpec } from '../model/tiny.js';

const record: TrainingRecord = { spacing: [1.5, 1.5], augmentation: 'paper', iterations: 3, batchSize: 2, learningRate: 1e-3, seed: 1, seconds: 1, backend: 'wasm', trainCases: ['a'] };

describe('workflows: model directories with training records', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'lgefed-workflows-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('saves float16 at half the size; loads the rounded weights with their id and training record', async () => {
    const weights = initialWeights(tinySpec, 4);
    const full = join(dir, 'full');
    const half = join(dir, 'half');
    await saveModelDirectory(full, tinySpec, weights, { training: record });
    const id = await saveModelDirectory(half, tinySpec, weights, { dtype: 'float16', training: record });
    assert.equal((await stat(join(half, WEIGHTS_FILE))).size * 2, (await stat(join(full, WEIGHTS_FILE))).size);
    const loaded = await loadModelDirectory(half);
    assert.equal(loaded.id, id);
    assert.equal(id, modelId(tinySpec, roundToFloat16(weights)));
    assert.deepEqual(loaded.training, record);
    assert.equal((await loadModelDirectory(full)).id, modelId(tinySpec, weights));
  });

  it('refuses an edited float16 file and a missing directory', async () => {
    const half = join(dir, 'edited');
    await saveModelDirectory(half, tinySpec, initialWeights(tinySpec, 5), { dtype: 'float16' });
    const bytes = await readFile(join(half, WEIGHTS_FILE));
    bytes[10] = bytes[10]! ^ 0xff;
    await writeFile(join(half, WEIGHTS_FILE), bytes);
    await assert.rejects(loadModelDirectory(half), /corrupt or edited/);
    await assert.rejects(loadModelDirectory(join(dir, 'nothing-here')), WorkflowError);
  });
});
