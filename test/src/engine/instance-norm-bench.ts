/**
 * Times the fused instance-norm + LeakyReLU forward and backward on the lite U-Net's norm shapes
 * (batch 8) on the wasm heap: the JS loops against the WebAssembly SIMD kernels, same data, and
 * the copies a SIMD module with memory of its own would need on top (it imports the heap instead).
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
const totals = { jsForward: 0, simdForward: 0, jsBackward: 0, simdBackward: 0, copyForward: 0, copyBackward: 0 };
const f = (ms: number) => ms.toFixed(2).padStart(6);
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; median of ${REPS}`);
for (const shape of SHAPES) {
  const [samples, height, width, channels] = shape;
  const layout = { samples, pixels: height * width, channels };
  const size = samples * height * width * channels;
  const x = tf.tensor4d(values(size, 1).map((v, i) => 2 * v + (i % channels) / channels), shape);
  const dy = tf.tensor4d(values(size, 2), shape);
  const gamma = tf.tensor1d(values(channels, 3).map((v) => 1 + 0.5 * v));
  const beta = tf.tensor1d(values(channels, 4).map((v) => 0.3 * v));
  const stats = [samples, 1, 1, channels];
  const outputs = [heap.allocate(shape), heap.allocate(stats), heap.allocate(stats), heap.allocate(shape), heap.allocate([channels]), heap.allocate([channels])];
  const infos: tf.TensorInfo[] = [x, dy, gamma, beta, ...outputs];
  const p = heap.byteOffsets(...infos);
  const { heap: floats, offsets } = heap.view(...infos);
  const v = infos.map((t, i) => floats.subarray(offsets[i]!, offsets[i]! + t.shape.reduce((a, b) => a * b, 1)));
  const times = {
    jsForward: median(() => instanceNormActForward(v[0]!, v[2]!, v[3]!, v[4]!, v[5]!, v[6]!, layout, ATTRS)),
    simdForward: median(() => simd.instanceNormActForward(p[0]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!, samples, layout.pixels, channels, ATTRS.epsilon, ATTRS.alpha)),
    jsBackward: median(() => instanceNormActBackward(v[1]!, v[0]!, v[5]!, v[6]!, v[2]!, v[3]!, v[7]!, v[8]!, v[9]!, layout, ATTRS)),
    simdBackward: median(() => simd.instanceNormActBackward(p[1]!, p[0]!, p[5]!, p[6]!, p[2]!, p[3]!, p[7]!, p[8]!, p[9]!, samples, layout.pixels, channels, ATTRS.alpha)),
  };
  // What a module with memory of its own would add: tensors copied in, results copied back.
  const own = new Float32Array(3 * size);
  const copies = {
    copyForward: median(() => (own.set(v[0]!), v[4]!.set(own.subarray(0, size)))),
    copyBackward: median(() => (own.set(v[1]!), own.set(v[0]!, size), v[7]!.set(own.subarray(0, size)))),
  };
  for (const [key, ms] of Object.entries({ ...times, ...copies })) totals[key as keyof typeof totals] += ms;
  console.log(
    `[${shape}]`.padEnd(18),
    `forward JS ${f(times.jsForward)} SIMD ${f(times.simdForward)} (copies ${f(copies.copyForward)}) | backward JS ${f(times.jsBackward)} SIMD ${f(times.simdBackward)} (copies ${f(copies.copyBackward)}) ms`,
  );
  tf.dispose([x, dy, gamma, beta]);
  heap.dispose(...outputs);
}
console.log(JSON.stringify({ ...totals, load: loadavg()[0] }));
