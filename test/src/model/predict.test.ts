import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageVolume } from '@lgefed/shared';
import { dice } from '@lgefed/shared/metrics/index';
import {
  initialWeights,
  keepLargestComponents,
  loadModel,
  ModelFileError,
  ModelInputError,
  modelId,
  predictVolume,
  PredictionError,
  Predictor,
  saveModel,
  slidingWindowProbabilities,
  TfjsProbabilityEngine,
  trainModel,
  UNet,
  type NamedTensor,
} from '@lgefed/shared/model/index';
import { engineOptions, ringSlice, tinySpec, useWasm } from './tiny.js';

/** Labels (argmax) of 16x16 slices, each one window of the tiny network. */
async function labelsOf(model: UNet, images: Float32Array[]): Promise<Uint8Array[]> {
  const engine = new TfjsProbabilityEngine(model, 'wasm');
  const probabilities = await slidingWindowProbabilities(engine, images.map((image) => ({ image, width: 16, height: 16 })), { window: 16 });
  return probabilities.map((p) => Uint8Array.from({ length: p.length / engine.classes }, (_, i) => {
    const pixel = Array.from(p.subarray(i * engine.classes, (i + 1) * engine.classes));
    return pixel.indexOf(Math.max(...pixel));
  }));
}

function classMask(labels: Uint8Array, c: number): Uint8Array {
  return labels.map((v) => (v === c ? 1 : 0));
}

describe('model: inference and weights I/O', () => {
  before(useWasm);
  const slice = ringSlice();
  let trained: NamedTensor[];

  it('overfits one synthetic slice to Dice > 0.95 for both structures', async () => {
    const result = await trainModel({ ...engineOptions, spec: tinySpec, data: [slice], batchSize: 1, iterations: 60, learningRate: 1e-2, seed: 1 });
    trained = result.weights;
    const model = new UNet(tinySpec, trained);
    try {
      const [predicted] = await labelsOf(model, [slice.image]);
      for (const c of [1, 2]) {
        const score = dice(classMask(predicted!, c), classMask(slice.label, c));
        assert.ok(score > 0.95, `class ${c} Dice ${score.toFixed(3)}, losses ${result.losses.slice(-3)}`);
      }
    } finally {
      model.dispose();
    }
  });

  it('save → load → predict gives identical output, and the id names the content', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'lgefed-model-'));
    try {
      const id = await saveModel(join(directory, 'm'), tinySpec, trained);
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.equal(id, modelId(tinySpec, trained));
      assert.notEqual(id, modelId(tinySpec, initialWeights(tinySpec, 1)));
      // Order of the tensors does not change the id.
      assert.equal(modelId(tinySpec, [...trained].reverse()), id);
      const loaded = await loadModel(join(directory, 'm'));
      assert.equal(loaded.id, id);
      const a = new UNet(tinySpec, trained);
      const b = new UNet(tinySpec, loaded.weights);
      try {
        const images = [slice.image, ringSlice(16, [6, 9]).image];
        assert.deepEqual(await labelsOf(b, images), await labelsOf(a, images));
      } finally {
        a.dispose();
        b.dispose();
      }
      // One flipped bit in the weights is detected.
      const weightsPath = join(directory, 'm', 'weights.bin');
      const bytes = await readFile(weightsPath);
      bytes[100] = bytes[100]! ^ 1;
      await writeFile(weightsPath, bytes);
      await assert.rejects(loadModel(join(directory, 'm')), ModelFileError);
      await writeFile(weightsPath, bytes.subarray(0, 64));
      await assert.rejects(loadModel(join(directory, 'm')), /bytes/);
      await assert.rejects(loadModel(join(directory, 'missing')), ModelFileError);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('predicts a volume on its own grid, mirrored or not, averaged over working spacings or not', async () => {
    // 20x18 slices: overlapping 16x16 windows tile each slice and the result is mapped back.
    const [w, h, d] = [20, 18, 3];
    const data = new Float32Array(w * h * d);
    for (let z = 0; z < d; z++) {
      const s = ringSlice(16, [8, 7]);
      for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) data[z * w * h + (y + 1) * w + x + 2] = s.image[y * 16 + x]!;
    }
    const image: ImageVolume = { data, dims: [w, h, d], spacing: [1.5, 1.5, 10] };
    const model = new UNet(tinySpec, trained);
    try {
      const engine = new TfjsProbabilityEngine(model, 'wasm');
      const plain = await predictVolume(engine, tinySpec, image);
      const mirrored = await predictVolume(engine, tinySpec, image, { mirror: true });
      const scaled = await predictVolume(engine, tinySpec, image, { scales: [0.8, 1, 1.25] });
      for (const v of [plain, mirrored, scaled]) {
        assert.deepEqual(v.dims, image.dims);
        assert.deepEqual(v.spacing, image.spacing);
        assert.ok(v.data.some((l) => l === 1) && v.data.some((l) => l === 2));
      }
      // Averaging a pass with itself changes nothing; the averaged scales do change some labels.
      assert.deepEqual((await predictVolume(engine, tinySpec, image, { scales: [1, 1] })).data, plain.data);
      assert.ok(scaled.data.some((l, i) => l !== plain.data[i]));
      for (const scales of [[], [0, 1], [1, Number.NaN], Array.from({ length: 9 }, () => 1)]) {
        await assert.rejects(predictVolume(engine, tinySpec, image, { scales }), ModelInputError, `scales [${scales}]`);
      }
    } finally {
      model.dispose();
    }
  });

  it('a Predictor in a worker thread runs onnxruntime by default, tfjs when asked, and both give the in-thread volume', async () => {
    const [w, h, d] = [16, 16, 2];
    const data = new Float32Array(w * h * d);
    data.set(slice.image, 0);
    data.set(ringSlice(16, [7, 9]).image, w * h);
    const image: ImageVolume = { data, dims: [w, h, d], spacing: [1.4, 1.4, 8] };
    const model = new UNet(tinySpec, trained);
    const expected = await predictVolume(new TfjsProbabilityEngine(model, 'wasm'), tinySpec, image, { mirror: true });
    model.dispose();
    for (const inference of ['auto', 'tfjs'] as const) {
      const { predictor, engine } = await Predictor.start(tinySpec, trained, { ...engineOptions, inference, backend: 'auto' });
      try {
        assert.match(engine, inference === 'auto' ? /^onnxruntime-node .* cpu/ : /^tfjs wasm/);
        assert.deepEqual(await predictor.predict(image, { mirror: true }), expected, engine);
        await assert.rejects(predictor.predict({ ...image, dims: [w, h, 3] }), PredictionError);
      } finally {
        await predictor.close();
      }
    }
  });

  it('post-processing keeps the largest component of each structure', () => {
    const dims = [5, 1, 3] as const;
    // Blood pool: 3 voxels in slices 0-1 connected, 1 stray voxel; myocardium: 2 separate singles (tie: first kept).
    const data = Uint8Array.from([1, 1, 0, 0, 1, /* z1 */ 1, 0, 2, 0, 0, /* z2 */ 0, 0, 0, 0, 2]);
    const out = keepLargestComponents({ data, dims, spacing: [1, 1, 1] }, [1, 2]);
    assert.deepEqual([...out.data], [1, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
  });
});
