/**
 * `node shared/dist/onnx/bench/probe.js`: inference slices/s of the shipped lite model, onnxruntime-node
 * against tfjs-wasm, same batch, size and thread count. A probe, not a benchmark: one process, both
 * engines timed in turn, on whatever load the machine has (printed).
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../engine/index.js';
import { UNet } from '../../model/unet.js';
import { loadModelDirectory, PRETRAINED_MODEL_DIR } from '../../workflows/index.js';
import { OnnxProbabilityEngine } from '../onnx-engine.js';

const BATCH = 8;
const THREADS = 2;
const REPEATS = Number(process.env.LGEFED_PROBE_REPEATS ?? 5);

/** Slices/s over REPEATS batches after one untimed warm-up batch (session/kernel set-up, JIT). */
async function rate(run: () => Promise<unknown>): Promise<number> {
  await run();
  const started = performance.now();
  for (let r = 0; r < REPEATS; r++) await run();
  return (REPEATS * BATCH) / ((performance.now() - started) / 1000);
}

const model = await loadModelDirectory(PRETRAINED_MODEL_DIR);
const size = model.spec.inputSize;
const images = Float32Array.from({ length: BATCH * size * size }, () => Math.random());

const onnx = await OnnxProbabilityEngine.load(model.spec, model.weights, { threads: THREADS });
const onnxRate = await rate(() => onnx.probabilities(images, BATCH, size));
await onnx.dispose();

await initEngine({ backend: 'wasm', threads: THREADS, log: () => {} });
const unet = new UNet(model.spec, model.weights);
const tfjsRate = await rate(async () => {
  const probabilities = tf.tidy(() => tf.softmax(unet.forward(tf.tensor4d(images, [BATCH, size, size, 1]), [0]).get(0)!));
  await probabilities.data();
  probabilities.dispose();
});
unet.dispose();

console.log(`lite ${size}x${size}, batch ${BATCH}, ${THREADS} threads, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`  ${onnx.name}: ${onnxRate.toFixed(1)} slices/s`);
console.log(`  tfjs-wasm forward + softmax: ${tfjsRate.toFixed(1)} slices/s (onnx ${(onnxRate / tfjsRate).toFixed(2)}x)`);
