import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { loadDataset, preprocessCase } from '@lgefed/shared/imaging/index';
import { ModelInputError, parameterLayout, SeededRandom, UNet, validateSpec, type NamedTensor, type UNetSpec } from '@lgefed/shared/model/index';
import { OnnxLaneError, OnnxProbabilityEngine, OnnxUnavailableError, onnxRuntimeAvailable, unetOnnxModel } from '@lgefed/shared/onnx/index';
import { WorkerLane } from '@lgefed/shared/onnx/onnx-lanes';
import { loadModelDirectory, PRETRAINED_MODEL_DIR } from '@lgefed/shared/workflows/index';
import { useWasm } from '../model/tiny.js';

/** Development data (never needed by the product): real LGE slices for the shipped model. */
const EMIDEC = '/work/shared/data/emidec-lge-slices';
const TOLERANCE = 1e-4;

/** tfjs reference: softmax of the full-resolution head, NHWC. */
async function tfjsProbabilities(spec: UNetSpec, weights: readonly NamedTensor[], images: Float32Array, n: number, size: number): Promise<Float32Array> {
  const model = new UNet({ ...spec, inputSize: size }, weights);
  try {
    const probabilities = tf.tidy(() => tf.softmax(model.forward(tf.tensor4d(images, [n, size, size, 1]), [0]).get(0)!));
    const data = (await probabilities.data()) as Float32Array;
    probabilities.dispose();
    return data;
  } finally {
    model.dispose();
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Every parameter random (gammas and biases too), so a wrong layout of any of them shows. */
function randomWeights(spec: UNetSpec, seed: number): NamedTensor[] {
  const random = new SeededRandom(seed);
  return parameterLayout(spec).map(({ name, shape, fanIn }) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = random.normal() * (name.endsWith('.gamma') || name.endsWith('.beta') ? 0.5 : Math.sqrt(2 / fanIn));
    return { name, shape, data };
  });
}

describe('onnx: U-Net inference on onnxruntime-node', () => {
  before(useWasm);

  it('onnxruntime-node is installed and loads', async () => {
    assert.equal(await onnxRuntimeAvailable(), true);
  });

  it('matches tfjs on the shipped model and real EMIDEC slices (max abs error < 1e-4)', async function () {
    if (!existsSync(EMIDEC)) this.skip();
    const model = await loadModelDirectory(PRETRAINED_MODEL_DIR);
    const id = (model.training!.notes!['split'] as { validation: string[] }).validation[0]!;
    const dir = await mkdtemp(join(tmpdir(), 'lgefed-onnx-'));
    let images: Float32Array;
    const n = 4;
    const size = model.spec.inputSize;
    try {
      for (const sub of ['images', 'labels']) {
        await mkdir(join(dir, sub));
        for (const name of (await readdir(join(EMIDEC, sub))).filter((f) => f.startsWith(`${id}_`))) await copyFile(join(EMIDEC, sub, name), join(dir, sub, name));
      }
      const { cases } = await loadDataset(dir, { layout: 'png-slices' });
      const { slices } = preprocessCase(cases[0]!, { size, targetSpacing: model.training!.spacing });
      assert.ok(slices.length >= n, `${id} has ${slices.length} slices`);
      const first = Math.floor((slices.length - n) / 2);
      images = new Float32Array(n * size * size);
      for (let i = 0; i < n; i++) images.set(slices[first + i]!.image, i * size * size);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const engine = await OnnxProbabilityEngine.load(model.spec, model.weights, { threads: 2 });
    try {
      assert.match(engine.name, /^onnxruntime-node \d+\.\d+\.\d+ cpu, 2 threads in 2 lanes$/);
      assert.equal(engine.classes, 3);
      const onnx = await engine.probabilities(images, n, size);
      const error = maxAbsDifference(onnx, await tfjsProbabilities(model.spec, model.weights, images, n, size));
      console.log(`      shipped lite model, ${n} EMIDEC slices of ${id}: max abs error ${error.toExponential(2)}`);
      assert.ok(error < TOLERANCE, `max abs error ${error}`);
    } finally {
      await engine.dispose();
    }
  });

  describe('a small random model', () => {
    const spec = validateSpec({ architecture: 'unet2d-instancenorm-leakyrelu', stages: 3, baseFeatures: 4, maxFeatures: 16, inputSize: 32, inChannels: 1, classes: 3 });
    const weights = randomWeights(spec, 7);
    let engine: OnnxProbabilityEngine;
    before(async () => {
      engine = await OnnxProbabilityEngine.load(spec, weights, { threads: 1 });
    });
    after(async () => engine.dispose());

    for (const size of [32, 64]) {
      it(`matches tfjs for a batch of 2 at ${size}x${size}, given a view into a larger buffer`, async () => {
        const random = new SeededRandom(size);
        const n = 2;
        const buffer = new Float32Array(n * size * size + 5).map(() => random.next());
        const images = buffer.subarray(5);
        const onnx = await engine.probabilities(images, n, size);
        assert.equal(onnx.length, n * size * size * spec.classes);
        const error = maxAbsDifference(onnx, await tfjsProbabilities(spec, weights, images, n, size));
        console.log(`      random 3-stage model at ${size}²: max abs error ${error.toExponential(2)}`);
        assert.ok(error < TOLERANCE, `max abs error ${error}`);
      });
    }

    it('gives the same probabilities with the batch shared over two worker lanes, for any batch size', async () => {
      const lanes = await OnnxProbabilityEngine.load(spec, weights, { threads: 2, lanes: 2 });
      try {
        assert.match(lanes.name, /2 threads in 2 lanes$/);
        const size = 32;
        for (const n of [1, 3, 4]) {
          const random = new SeededRandom(100 + n);
          const images = new Float32Array(n * size * size).map(() => random.next());
          const shared = await lanes.probabilities(images, n, size);
          assert.equal(shared.length, n * size * size * spec.classes);
          // The caller's images are copied to the lanes, never taken over.
          assert.equal(images.length, n * size * size);
          assert.ok(maxAbsDifference(shared, await engine.probabilities(images, n, size)) < 1e-6, `batch of ${n}`);
        }
        const random = new SeededRandom(9);
        const batches = [2, 5].map((n) => new Float32Array(n * size * size).map(() => random.next()));
        // Calls in flight at once come back to the right callers.
        const together = await Promise.all(batches.map((images, i) => lanes.probabilities(images, [2, 5][i]!, size)));
        for (const [i, images] of batches.entries()) assert.ok(maxAbsDifference(together[i]!, await engine.probabilities(images, [2, 5][i]!, size)) < 1e-6);
      } finally {
        await lanes.dispose();
      }
    });

    it('refuses lanes that are not 1..threads', async () => {
      await assert.rejects(OnnxProbabilityEngine.load(spec, weights, { threads: 2, lanes: 3 }), ModelInputError);
      await assert.rejects(OnnxProbabilityEngine.load(spec, weights, { threads: 2, lanes: 0 }), ModelInputError);
    });

    it('refuses a bad input shape with ModelInputError', async () => {
      await assert.rejects(engine.probabilities(new Float32Array(32 * 32), 2, 32), ModelInputError);
      await assert.rejects(engine.probabilities(new Float32Array(30 * 30), 1, 30), ModelInputError);
      await assert.rejects(engine.probabilities(new Float32Array(0), 0, 32), ModelInputError);
    });
  });

  describe('a lane in a worker thread', () => {
    const spec = validateSpec({ architecture: 'unet2d-instancenorm-leakyrelu', stages: 2, baseFeatures: 2, maxFeatures: 4, inputSize: 16, inChannels: 1, classes: 3 });

    it('that cannot open its session fails to start with OnnxLaneError', async () => {
      await assert.rejects(WorkerLane.start(new Uint8Array([1, 2, 3, 4]), 1, 3), OnnxLaneError);
    });

    it('rejects a run the runtime refuses with OnnxLaneError, and goes on serving', async () => {
      const lane = await WorkerLane.start(unetOnnxModel(spec, randomWeights(spec, 3)), 1, spec.classes);
      try {
        // 15 is not a multiple of the network's 2: the engine refuses it before a lane sees it; the lane
        // itself hands the runtime's error back instead of leaving its caller waiting.
        await assert.rejects(lane.run(new Float32Array(15 * 15), 1, 15), OnnxLaneError);
        const probabilities = await lane.run(new Float32Array(16 * 16).fill(0.5), 1, 16);
        assert.equal(probabilities.length, 16 * 16 * spec.classes);
      } finally {
        await lane.release();
      }
      await assert.rejects(lane.run(new Float32Array(16 * 16), 1, 16), OnnxLaneError);
    });

    it('an engine disposed while a batch is in flight answers the batch first, in one lane as in several', async () => {
      const weights = randomWeights(spec, 4);
      for (const threads of [1, 2]) {
        const engine = await OnnxProbabilityEngine.load(spec, weights, { threads });
        const pending = engine.probabilities(new Float32Array(4 * 64 * 64).fill(0.5), 4, 64);
        await engine.dispose();
        assert.equal((await pending).length, 4 * 64 * 64 * spec.classes, `${threads} thread(s)`);
      }
    });

    it('released while a run is in flight, answers the run first and keeps the process alive until the session is closed', async () => {
      // In a process of its own: a lane that let go of the process early made it exit (code 13,
      // "unsettled top-level await") before release resolved, with nothing else to keep it alive.
      const script = `
        import { WorkerLane } from '${import.meta.resolve('@lgefed/shared/onnx/onnx-lanes')}';
        import { unetOnnxModel } from '${import.meta.resolve('@lgefed/shared/onnx/index')}';
        import { initialWeights, validateSpec } from '${import.meta.resolve('@lgefed/shared/model/index')}';
        const spec = validateSpec({ architecture: 'unet2d-instancenorm-leakyrelu', stages: 5, baseFeatures: 16, maxFeatures: 256, inputSize: 128, inChannels: 1, classes: 3 });
        const lane = await WorkerLane.start(unetOnnxModel(spec, initialWeights(spec, 1)), 1, spec.classes);
        const run = lane.run(new Float32Array(8 * 256 * 256).fill(0.3), 8, 256).then((d) => d.length, (e) => e.message);
        await lane.release();
        console.log(JSON.stringify({ run: await run }));`;
      const dir = await mkdtemp(join(tmpdir(), 'lgefed-lane-'));
      try {
        await writeFile(join(dir, 'release.mjs'), script);
        const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'release.mjs')], { timeout: 120_000 });
        assert.deepEqual(JSON.parse(stdout), { run: 8 * 256 * 256 * 3 });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  it('says OnnxUnavailableError when the runtime cannot be loaded', async () => {
    const missing = () => Promise.reject(new Error("Cannot find package 'onnxruntime-node'"));
    assert.equal(await onnxRuntimeAvailable(missing), false);
    const spec = validateSpec({ architecture: 'unet2d-instancenorm-leakyrelu', stages: 2, baseFeatures: 2, maxFeatures: 2, inputSize: 8, inChannels: 1, classes: 2 });
    await assert.rejects(OnnxProbabilityEngine.load(spec, randomWeights(spec, 1), { importRuntime: missing }), OnnxUnavailableError);
  });
});
