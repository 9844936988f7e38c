/**
 * Times the fused instance-norm + LeakyReLU forward and backward on the lite U-Net's norm shapes
 * (batch 8) on the wasm heap: the JS loops against the WebAssembly SIMD kernels, same data.
 * `node test/dist/engine/instance-norm-bench.js [--reps N]`; prints the load average with the figures.
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initEngine } from '@lgefed/shared/engine/index';
import { instanceNormActBackward, instanceNormActForward } from '@lgefed/shared/engine/kernels/instance-norm-act';
import { simdKernels } from '@lgefed/shared/engine/kernels/simd';
import { WasmHeap } from '@lgefed/shared/engine/kernels/wasm-heap';
import { values } from './numeric.js';

const SHAPES: [number, number, number, number][] = [
  [8, 128, 128, 16],
  [8, 64, 64, 32],
  [8, 32, 32, 64],
  [8, 16, 16, 128],
  [8, 8, 8, 256],
];
const ATTRS = { epsilon: 1e-5, alpha: 0.01 };
const at = process.argv.indexOf('--reps');
const REPS = at >= 0 ? Number(process.argv[at + 1]) : 9;

/** Median wall time of `f` in ms, after one warm-up call. */
function median(f: () => void): number {
  f();
  const times = Array.from({ length: REPS }, () => {
    const start = performance.now();
    f();
    return performance.now() - start;
  });
  return times.sort((a, b) => a - b)[Math.floor(REPS / 2)]!;
}

await initEngine({ backend: 'wasm' });
const heap = new WasmHeap(tf.backend() as BackendWasm);
const memory = heap.memory;
const simd = memory && simdKernels(memory);
if (!simd) throw new Error('no SIMD kernels in this runtime');
const totals = { jsForward: 0, simdForward: 0, jsBackward: 0, simdBackward: 0 };
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; median of ${REPS}`);
for (const shape of SHAPES) {
  const [samples, height, width, channels] = shape;
  const layout = { samples, pixels: height * width, channels };
  const size = samples * height * width * channels;
  const x = tf.tensor4d(values(size, 1).map((v, i) => 2 * v + (i % channels) / channels), shape);
  const dy = tf.tensor4d(values(size, 2), shape);
  const gamma = tf.tensor1d(values(channels, 3).map((v) => 1 + 0.5 * v));
  const beta = tf.tensor1d(values(channels, 4).map((v) => 0.3 * v));
  const tensors = [x, dy, gamma, beta, heap.allocate(shape), heap.allocate([samples, 1, 1, channels]), heap.allocate([samples, 1, 1, channels]), heap.allocate(shape), heap.allocate([channels]), heap.allocate([channels])];
  const infos = tensors as tf.TensorInfo[];
  const p = heap.byteOffsets(...infos);
  const views = () => {
    const { heap: floats, offsets } = heap.view(...infos);
    return infos.map((t, i) => floats.subarray(offsets[i]!, offsets[i]! + t.shape.reduce((a, b) => a * b, 1)));
  };
  const v = views();
  const jsForward = median(() => instanceNormActForward(v[0]!, v[2]!, v[3]!, v[4]!, v[5]!, v[6]!, layout, ATTRS));
  const simdForward = median(() => simd.instanceNormActForward(p[0]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!, samples, layout.pixels, channels, ATTRS.epsilon, ATTRS.alpha));
  const jsBackward = median(() => instanceNormActBackward(v[1]!, v[0]!, v[5]!, v[6]!, v[2]!, v[3]!, v[7]!, v[8]!, v[9]!, layout, ATTRS));
  const simdBackward = median(() => simd.instanceNormActBackward(p[1]!, p[0]!, p[5]!, p[6]!, p[2]!, p[3]!, p[7]!, p[8]!, p[9]!, samples, layout.pixels, channels, ATTRS.alpha));
  Object.assign(totals, { jsForward: totals.jsForward + jsForward, simdForward: totals.simdForward + simdForward, jsBackward: totals.jsBackward + jsBackward, simdBackward: totals.simdBackward + simdBackward });
  const f = (ms: number) => ms.toFixed(2).padStart(7);
  console.log(`[${shape}]`.padEnd(18), `forward JS ${f(jsForward)} ms SIMD ${f(simdForward)} ms | backward JS ${f(jsBackward)} ms SIMD ${f(simdBackward)} ms`);
  tf.dispose([x, dy, gamma, beta]);
  heap.dispose(...infos.slice(4));
}
console.log(JSON.stringify({ ...totals, load: loadavg()[0] }));
