import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '@lgefed/shared/engine/index';
import { registerTrainingGradients } from '@lgefed/shared/model/index';
import { conv2dBackpropFilter } from '@lgefed/shared/engine/kernels/conv2d-backprop-filter';
import { conv2dBackpropInputByPhases } from '@lgefed/shared/engine/kernels/conv2d-backprop-input';
import { WasmHeap } from '@lgefed/shared/engine/kernels/wasm-heap';
import { conv2dBackpropFilterWinograd, conv2dWinograd, winogradApplies, winogradTileFor } from '@lgefed/shared/engine/kernels/conv2d-winograd';
import { INSTANCE_NORM_ACT, INSTANCE_NORM_ACT_GRAD, instanceNormActBackward, instanceNormActForward } from '@lgefed/shared/engine/kernels/instance-norm-act';
import { SIMD_LANES, simdKernels, simdUnavailable, type WasmMemory } from '@lgefed/shared/engine/kernels/simd';
import { getThreadsCount, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { kernelPool } from '@lgefed/shared/engine/kernels/kernel-pool';
import { relativeError, values } from './numeric.js';

interface Case {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  pad: 'same' | 'valid';
}

const handPicked: Case[] = [
  { batch: 1, height: 7, width: 9, inChannels: 3, outChannels: 4, kernel: 3, stride: 1, pad: 'same' },
  { batch: 2, height: 8, width: 8, inChannels: 5, outChannels: 3, kernel: 3, stride: 2, pad: 'same' },
  { batch: 3, height: 9, width: 7, inChannels: 2, outChannels: 5, kernel: 2, stride: 2, pad: 'valid' },
  { batch: 2, height: 6, width: 10, inChannels: 4, outChannels: 3, kernel: 2, stride: 2, pad: 'same' },
  { batch: 1, height: 5, width: 5, inChannels: 3, outChannels: 2, kernel: 1, stride: 1, pad: 'valid' },
  { batch: 2, height: 11, width: 10, inChannels: 3, outChannels: 4, kernel: 3, stride: 2, pad: 'valid' },
  { batch: 1, height: 9, width: 9, inChannels: 2, outChannels: 3, kernel: 1, stride: 2, pad: 'same' },
  { batch: 2, height: 13, width: 12, inChannels: 4, outChannels: 6, kernel: 3, stride: 1, pad: 'valid' },
  // Channels in fours and eights (and what is left over): every register tile of the direct filter gradient.
  { batch: 3, height: 9, width: 10, inChannels: 9, outChannels: 13, kernel: 3, stride: 1, pad: 'same' },
  { batch: 2, height: 8, width: 8, inChannels: 8, outChannels: 16, kernel: 3, stride: 2, pad: 'same' },
  { batch: 2, height: 8, width: 12, inChannels: 8, outChannels: 5, kernel: 3, stride: 1, pad: 'same' },
  { batch: 3, height: 5, width: 4, inChannels: 4, outChannels: 3, kernel: 3, stride: 1, pad: 'same' },
  { batch: 1, height: 7, width: 8, inChannels: 12, outChannels: 2, kernel: 5, stride: 1, pad: 'same' },
  { batch: 2, height: 6, width: 8, inChannels: 4, outChannels: 2, kernel: 2, stride: 1, pad: 'same' },
  { batch: 1, height: 4, width: 8, inChannels: 4, outChannels: 3, kernel: 1, stride: 1, pad: 'same' },
];

/** Seeded random shapes over the same axes. */
function randomCases(count: number): Case[] {
  const r = values(count * 8, 77);
  const pick = (x: number, options: number[]) => options[Math.floor(((x + 1) / 2) * options.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const u = r.subarray(i * 8, i * 8 + 8);
    return {
      batch: pick(u[0]!, [1, 2, 3]),
      height: pick(u[1]!, [5, 6, 7, 8, 9, 12, 15]),
      width: pick(u[2]!, [5, 6, 7, 8, 9, 12, 15]),
      inChannels: pick(u[3]!, [1, 2, 3, 8, 16]),
      outChannels: pick(u[4]!, [1, 2, 4, 8, 16]),
      kernel: pick(u[5]!, [1, 2, 3]),
      stride: pick(u[6]!, [1, 2]),
      pad: pick(u[7]!, [0, 1]) === 0 ? 'same' : 'valid',
    };
  });
}

function describeCase(c: Case): string {
  return `x ${c.batch}x${c.height}x${c.width}x${c.inChannels}, k${c.kernel} s${c.stride} ${c.pad}, ${c.outChannels} out`;
}

function outSize(size: number, c: Case): number {
  return c.pad === 'same' ? Math.ceil(size / c.stride) : Math.ceil((size - c.kernel + 1) / c.stride);
}

async function onBackend(name: string, f: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(name);
  const result = f();
  const data = (await result.data()) as Float32Array;
  result.dispose();
  return data;
}

/** Runs a kernel on `backend` and checks it leaves no tensor or backend buffer behind; all outputs. */
async function runKernelOutputs(backend: string, kernel: string, inputs: Record<string, Float32Array>, shapes: Record<string, number[]>, attrs: tf.NamedAttrMap) {
  await tf.setBackend(backend);
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v, shapes[k])]));
  const before = { tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() };
  const result = tf.engine().runKernel(kernel, tensors, attrs) as tf.Tensor | tf.Tensor[];
  const outputs = Array.isArray(result) ? result : [result];
  const data = await Promise.all(outputs.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(outputs);
  assert.deepEqual({ tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() }, before, `${kernel} on ${backend} leaked`);
  Object.values(tensors).forEach((t) => t.dispose());
  return data;
}

async function runKernel(backend: string, kernel: string, inputs: Record<string, Float32Array>, shapes: Record<string, number[]>, attrs: tf.NamedAttrMap) {
  return (await runKernelOutputs(backend, kernel, inputs, shapes, attrs))[0]!;
}

describe('engine: wasm training kernels match the cpu backend', function () {
  this.timeout(120_000);
  const cases = [...handPicked, ...randomCases(12)];

  before(async () => {
    await initEngine({ backend: 'wasm', log: () => {} });
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  for (const c of cases) {
    const oh = outSize(c.height, c);
    const ow = outSize(c.width, c);
    const xShape = [c.batch, c.height, c.width, c.inChannels];
    const dyShape = [c.batch, oh, ow, c.outChannels];
    const filterShape = [c.kernel, c.kernel, c.inChannels, c.outChannels];
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const seed = c.batch * 1000 + c.height * 100 + c.width * 10 + c.kernel;

    it(`Conv2DBackpropFilter: ${describeCase(c)}`, async () => {
      const inputs = { x: values(size(xShape), seed), dy: values(size(dyShape), seed + 1) };
      const attrs = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape } as unknown as tf.NamedAttrMap;
      const shapes = { x: xShape, dy: dyShape };
      const expected = await runKernel('cpu', 'Conv2DBackpropFilter', inputs, shapes, attrs);
      const actual = await runKernel('wasm', 'Conv2DBackpropFilter', inputs, shapes, attrs);
      assert.ok(relativeError(actual, expected) < 1e-4, `relative error ${relativeError(actual, expected)}`);
    });

    // The default is direct wherever SIMD runs: the fallback is checked on every shape too.
    for (const method of ['direct', 'patches'] as const) it(`Conv2DBackpropFilter by ${method}: ${describeCase(c)}`, async function () {
      if (method === 'direct' && simdUnavailable() !== undefined) this.skip();
      const inputs = { x: values(size(xShape), seed), dy: values(size(dyShape), seed + 1) };
      const attrs = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', filterShape } as unknown as tf.Conv2DBackpropFilterAttrs;
      const expected = await runKernel('cpu', 'Conv2DBackpropFilter', inputs, { x: xShape, dy: dyShape }, attrs as unknown as tf.NamedAttrMap);
      await tf.setBackend('wasm');
      const x = tf.tensor(inputs.x, xShape);
      const dy = tf.tensor(inputs.dy, dyShape);
      const buffers = tf.backend().numDataIds();
      const dW = tf.engine().makeTensorFromTensorInfo(conv2dBackpropFilter(x, dy, attrs, new WasmHeap(tf.backend() as BackendWasm), { method }));
      assert.equal(tf.backend().numDataIds(), buffers + 1, 'only the gradient stays allocated');
      assert.ok(relativeError((await dW.data()) as Float32Array, expected) < 1e-4, `relative error ${relativeError((await dW.data()) as Float32Array, expected)}`);
      tf.dispose([x, dy, dW]);
    });

    it(`Conv2DBackpropInput: ${describeCase(c)}`, async () => {
      const inputs = { dy: values(size(dyShape), seed + 2), filter: values(size(filterShape), seed + 3) };
      const attrs = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: xShape } as unknown as tf.NamedAttrMap;
      const shapes = { dy: dyShape, filter: filterShape };
      const expected = await runKernel('cpu', 'Conv2DBackpropInput', inputs, shapes, attrs);
      const actual = await runKernel('wasm', 'Conv2DBackpropInput', inputs, shapes, attrs);
      assert.ok(relativeError(actual, expected) < 1e-4, `relative error ${relativeError(actual, expected)}`);
    });
  }

  it('shares the filter gradient over the kernel helper threads without changing it', async function () {
    const memory = new WasmHeap(tf.backend() as BackendWasm).memory;
    if (simdUnavailable() !== undefined || !memory) this.skip();
    await tf.setBackend('wasm');
    const heap = new WasmHeap(tf.backend() as BackendWasm);
    assert.equal(kernelPool(heap.memory!)?.threads ?? 1, getThreadsCount(), 'a helper for each XNNPACK thread beyond the main one');
    const [xShape, dyShape] = [[5, 12, 12, 8], [5, 12, 12, 16]];
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 8, 16] } as unknown as tf.Conv2DBackpropFilterAttrs;
    const x = tf.tensor(values(xShape.reduce((a, b) => a * b), 7), xShape);
    const dy = tf.tensor(values(dyShape.reduce((a, b) => a * b), 8), dyShape);
    const shared = tf.engine().makeTensorFromTensorInfo(conv2dBackpropFilter(x, dy, attrs, heap, { method: 'direct' }));
    const alone = tf.engine().makeTensorFromTensorInfo(conv2dBackpropFilter(x, dy, attrs, heap, { method: 'direct', threads: 1 }));
    assert.ok(relativeError((await shared.data()) as Float32Array, (await alone.data()) as Float32Array) < 1e-6);
    tf.dispose([x, dy, shared, alone]);
  });

  for (const c of [handPicked[1]!, handPicked[8]!, handPicked[10]!]) it(`splits the filter gradient into chunks without changing it: ${describeCase(c)}`, async () => {
    const xShape = [c.batch, c.height, c.width, c.inChannels];
    const dyShape = [c.batch, outSize(c.height, c), outSize(c.width, c), c.outChannels];
    const attrs = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', filterShape: [3, 3, c.inChannels, c.outChannels] } as unknown as tf.Conv2DBackpropFilterAttrs;
    await tf.setBackend('wasm');
    const x = tf.tensor(values(xShape.reduce((a, b) => a * b), 5), xShape);
    const dy = tf.tensor(values(dyShape.reduce((a, b) => a * b), 6), dyShape);
    const heap = new WasmHeap(tf.backend() as BackendWasm);
    const whole = tf.engine().makeTensorFromTensorInfo(conv2dBackpropFilter(x, dy, attrs, heap, { method: 'patches' }));
    // Chunks are whole samples: a budget of one sample's patches.
    const budget = 9 * c.inChannels * dyShape[1]! * dyShape[2]!;
    const chunked = tf.engine().makeTensorFromTensorInfo(conv2dBackpropFilter(x, dy, attrs, heap, { method: 'patches', patchBudget: budget }));
    assert.ok(relativeError((await chunked.data()) as Float32Array, (await whole.data()) as Float32Array) < 1e-6);
    tf.dispose([x, dy, whole, chunked]);
  });

  for (const [height, width, kernel, pad] of [[8, 8, 3, 'same'], [9, 7, 3, 'same'], [10, 6, 2, 'same'], [9, 11, 3, 'valid'], [7, 7, 1, 'valid']] as const) {
    it(`computes strided input gradients by output phases (no zero insertion): ${height}x${width} k${kernel} s2 ${pad}`, async () => {
      const [batch, inChannels, outChannels] = [2, 3, 5];
      const g = tf.backend_util.computeConv2DInfo([batch, height, width, inChannels], [kernel, kernel, inChannels, outChannels], 2, 1, pad, undefined, false, 'channelsLast');
      const dyShape = [batch, g.outHeight, g.outWidth, outChannels];
      const filterShape = [kernel, kernel, inChannels, outChannels];
      const inputs = { dy: values(dyShape.reduce((a, b) => a * b), height), filter: values(filterShape.reduce((a, b) => a * b), width) };
      const attrs = { strides: [2, 2], pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [batch, height, width, inChannels] } as unknown as tf.NamedAttrMap;
      const expected = await runKernel('cpu', 'Conv2DBackpropInput', inputs, { dy: dyShape, filter: filterShape }, attrs);
      await tf.setBackend('wasm');
      const dy = tf.tensor(inputs.dy, dyShape);
      const filter = tf.tensor(inputs.filter, filterShape);
      const info = conv2dBackpropInputByPhases(dy, filter, g, new WasmHeap(tf.backend() as BackendWasm));
      assert.ok(info !== undefined, 'the phase path should handle this geometry');
      const dx = tf.engine().makeTensorFromTensorInfo(info);
      assert.ok(relativeError((await dx.data()) as Float32Array, expected) < 1e-4);
      tf.dispose([dy, filter, dx]);
    });
  }

  it('trains through tf.grad on wasm: conv weights gradient equals cpu', async () => {
    registerTrainingGradients();
    const xs = values(2 * 12 * 12 * 3, 11);
    const ws = values(3 * 3 * 3 * 4, 12);
    const gradient = async (backend: string) =>
      onBackend(backend, () => {
        const x = tf.tensor4d(xs, [2, 12, 12, 3]);
        const g = tf.grad((w: tf.Tensor) => tf.tidy(() => { const y = tf.conv2d(x, w as tf.Tensor4D, 2, 'same'); return tf.sum(tf.mul(y, y)); }))(tf.tensor4d(ws, [3, 3, 3, 4]));
        return g;
      });
    const expected = await gradient('cpu');
    const actual = await gradient('wasm');
    assert.ok(relativeError(actual, expected) < 1e-4);
  });

  for (const [shape, splits, axis] of [
    [[2, 5, 3, 32], [16, 16], 3],
    [[1, 4, 6, 8], [3, 5], -1],
    [[3, 7, 2, 12], 3, 3],
    [[2, 6, 4, 6], [2, 4], 1],
    // Ranges of 4 channels go by vectors, those over 128 channels by bulk copies.
    [[1, 3, 2, 264], [4, 260], 3],
  ] as const) {
    it(`SplitV [${shape}] into ${JSON.stringify(splits)} along axis ${axis}${axis === 1 ? ' (the backend\'s own kernel)' : ''}`, async () => {
      const inputs = { x: values(shape.reduce((a: number, b: number) => a * b, 1), shape[3] * 7 + shape[1]) };
      const attrs = { numOrSizeSplits: splits, axis } as unknown as tf.NamedAttrMap;
      const expected = await runKernelOutputs('cpu', 'SplitV', inputs, { x: [...shape] }, attrs);
      const actual = await runKernelOutputs('wasm', 'SplitV', inputs, { x: [...shape] }, attrs);
      assert.equal(actual.length, expected.length);
      actual.forEach((part, i) => assert.deepEqual(part, expected[i]));
    });
  }

  for (const [shapes, axis] of [
    [[[2, 5, 3, 16], [2, 5, 3, 16]], 3],
    [[[1, 4, 6, 3], [1, 4, 6, 5], [1, 4, 6, 1]], -1],
    [[[2, 3, 4, 6], [2, 2, 4, 6]], 1],
  ] as const) {
    it(`Concat ${shapes.map((s) => `[${s}]`).join(' + ')} along axis ${axis}${axis === 1 ? ' (the backend\'s own kernel)' : ''}`, async () => {
      const concatenate = async (backend: string) => {
        await tf.setBackend(backend);
        const parts = shapes.map((shape, i) => tf.tensor(values(shape.reduce((a: number, b: number) => a * b, 1), 31 + i), [...shape]));
        const joined = tf.concat(parts, axis);
        const data = (await joined.data()) as Float32Array;
        tf.dispose([...parts, joined]);
        return data;
      };
      assert.deepEqual(await concatenate('wasm'), await concatenate('cpu'));
    });
  }

  for (const [shape, begin, size, ours] of [
    [[2, 4, 5, 3], [0, 0, 0, 1], [-1, -1, -1, 2], true],
    [[3, 6, 7], [0, 0, 2], [3, 6, 4], true],
    [[2, 4, 5, 3], [0, 1, 0, 1], [-1, 2, -1, 2], false],
  ] as const) {
    it(`Slice [${shape}] from [${begin}] size [${size}]${ours ? '' : ' (the backend\'s own kernel)'}`, async () => {
      const inputs = { x: values(shape.reduce((a: number, b: number) => a * b, 1), 41) };
      const attrs = { begin, size } as unknown as tf.NamedAttrMap;
      const expected = await runKernel('cpu', 'Slice', inputs, { x: [...shape] }, attrs);
      assert.deepEqual(await runKernel('wasm', 'Slice', inputs, { x: [...shape] }, attrs), expected);
    });
  }

  for (const [shape, axis, keepDims] of [
    [[8, 16, 16, 16], [0, 1, 2], false],
    [[3, 300, 8], [1, 0], true],
    [[5, 7, 12], [0, 1], false],
    [[2, 6, 6, 3], [0, 1, 2], false],
    [[2, 5, 7], [0, 1], true],
    [[4, 5, 8], [0, 2], false],
    [[4, 5, 8], -1, false],
  ] as const) {
    const ours = axis !== -1 && JSON.stringify([...(axis as readonly number[])].sort()) === JSON.stringify(shape.slice(0, -1).map((_, i) => i));
    it(`Sum [${shape}] over axes ${JSON.stringify(axis)}${keepDims ? ', keeping dims' : ''}${ours ? '' : ' (the backend\'s own kernel)'}`, async () => {
      const inputs = { x: values(shape.reduce((a: number, b: number) => a * b, 1), shape[1]! * 31) };
      const attrs = { axis: axis as unknown as number[], keepDims } as unknown as tf.NamedAttrMap;
      const expected = await runKernel('cpu', 'Sum', inputs, { x: [...shape] }, attrs);
      const actual = await runKernel('wasm', 'Sum', inputs, { x: [...shape] }, attrs);
      assert.ok(relativeError(actual, expected) < 1e-5, `relative error ${relativeError(actual, expected)}`);
      await tf.setBackend('wasm');
      const x = tf.tensor(inputs.x, [...shape]);
      const sum = tf.sum(x, axis as unknown as number[], keepDims);
      const reduced = tf.util.parseAxisParam(axis as unknown as number[], [...shape]);
      const expectedShape = keepDims ? shape.map((d, i) => (reduced.includes(i) ? 1 : d)) : shape.filter((_, i) => !reduced.includes(i));
      assert.deepEqual(sum.shape, expectedShape);
      tf.dispose([x, sum]);
    });
  }

  it('rejects a dy whose shape does not match the convolution', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 8, 8, 2]);
    const dy = tf.zeros([1, 5, 5, 3]);
    assert.throws(
      () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] } as unknown as tf.NamedAttrMap),
      (error: Error) => error.name === 'EngineError' && /expected \[1,8,8,3\]/.test(error.message),
    );
    tf.dispose([x, dy]);
  });

  // Winograd F(2x2, 3x3) and F(4x4, 3x3): odd sizes (partial tiles), several tile blocks, register-tile tails
  // (channels in eights and fours), images smaller than a patch, every padding form.
  const winogradCases: { shape: [number, number, number, number]; outChannels: number; pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] }[] = [
    { shape: [2, 7, 9, 8], outChannels: 12, pad: 'same' },
    { shape: [1, 40, 36, 8], outChannels: 8, pad: 'same' },
    { shape: [3, 9, 10, 12], outChannels: 16, pad: 'valid' },
    { shape: [2, 6, 5, 16], outChannels: 20, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
    { shape: [1, 3, 3, 8], outChannels: 8, pad: 'same' },
    { shape: [1, 2, 2, 8], outChannels: 8, pad: 'same' },
    { shape: [4, 8, 8, 64], outChannels: 32, pad: 'same' },
  ];
  for (const { shape, outChannels, pad } of winogradCases) {
    it(`Conv2D by Winograd equals the cpu backend: x ${shape.join('x')}, ${outChannels} out, pad ${JSON.stringify(pad)}`, async function () {
      if (simdUnavailable() !== undefined) this.skip();
      const filterShape: [number, number, number, number] = [3, 3, shape[3], outChannels];
      const g = tf.backend_util.computeConv2DInfo(shape, filterShape, 1, 1, pad, undefined, false, 'channelsLast');
      assert.ok(winogradApplies(g), 'a geometry Winograd should take');
      const inputs = { x: values(shape.reduce((a, b) => a * b), shape[1] * 7 + outChannels), filter: values(filterShape.reduce((a, b) => a * b), shape[2] * 5) };
      const shapes = { x: shape, filter: filterShape };
      const attrs = { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
      const expected = await runKernel('cpu', 'Conv2D', inputs, shapes, attrs);
      const actual = await runKernel('wasm', 'Conv2D', inputs, shapes, attrs);
      assert.ok(relativeError(actual, expected) < 1e-4, `relative error ${relativeError(actual, expected)}`);
      // The registered kernel is ours: the same numbers as calling Winograd directly; both tile sizes hold.
      const x = tf.tensor(inputs.x, shape);
      const filter = tf.tensor(inputs.filter, filterShape);
      const heap = new WasmHeap(tf.backend() as BackendWasm);
      const direct = tf.engine().makeTensorFromTensorInfo(conv2dWinograd(x, filter, g, heap)!);
      assert.deepEqual((await direct.data()) as Float32Array, actual);
      for (const tile of [2, 4] as const) {
        const buffers = tf.backend().numDataIds();
        const out = tf.engine().makeTensorFromTensorInfo(conv2dWinograd(x, filter, g, heap, tile)!);
        assert.equal(tf.backend().numDataIds(), buffers + 1, 'only the output stays allocated');
        const error = relativeError((await out.data()) as Float32Array, expected);
        assert.ok(error < 1e-4, `F(${tile}x${tile}, 3x3): relative error ${error}`);
        out.dispose();
      }
      tf.dispose([x, filter, direct]);
    });

    it(`Conv2DBackpropFilter by Winograd equals the cpu backend: x ${shape.join('x')}, ${outChannels} out, pad ${JSON.stringify(pad)}`, async function () {
      if (simdUnavailable() !== undefined) this.skip();
      const filterShape = [3, 3, shape[3], outChannels];
      const g = tf.backend_util.computeConv2DInfo(shape, filterShape as [number, number, number, number], 1, 1, pad, undefined, false, 'channelsLast');
      const dyShape = [g.batchSize, g.outHeight, g.outWidth, outChannels];
      const inputs = { x: values(shape.reduce((a, b) => a * b), shape[1] * 3 + outChannels), dy: values(dyShape.reduce((a, b) => a * b), shape[2] * 11) };
      const shapes = { x: shape, dy: dyShape };
      const attrs = { strides: [1, 1], pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape } as unknown as tf.NamedAttrMap;
      const expected = await runKernel('cpu', 'Conv2DBackpropFilter', inputs, shapes, attrs);
      const actual = await runKernel('wasm', 'Conv2DBackpropFilter', inputs, shapes, attrs);
      assert.ok(relativeError(actual, expected) < 1e-4, `relative error ${relativeError(actual, expected)}`);
      const x = tf.tensor(inputs.x, shape);
      const dy = tf.tensor(inputs.dy, dyShape);
      const heap = new WasmHeap(tf.backend() as BackendWasm);
      const winograd = tf.engine().makeTensorFromTensorInfo(conv2dBackpropFilter(x, dy, attrs as unknown as tf.Conv2DBackpropFilterAttrs, heap, { method: 'winograd' }));
      assert.deepEqual((await winograd.data()) as Float32Array, actual, 'the default method here is Winograd');
      for (const tile of [2, 4] as const) {
        const buffers = tf.backend().numDataIds();
        const dW = tf.engine().makeTensorFromTensorInfo(conv2dBackpropFilterWinograd(x, dy, g, heap, tile)!);
        assert.equal(tf.backend().numDataIds(), buffers + 1, 'only the gradient stays allocated');
        const error = relativeError((await dW.data()) as Float32Array, expected);
        assert.ok(error < 1e-4, `F(${tile}x${tile}, 3x3): relative error ${error}`);
        dW.dispose();
      }
      tf.dispose([x, dy, winograd]);
    });
  }

  it('takes F(4x4, 3x3) where blocks fill or the transformed filter stays cached, else F(2x2, 3x3)', () => {
    const info = (batch: number, size: number, channels: number) =>
      tf.backend_util.computeConv2DInfo([batch, size, size, channels], [3, 3, channels, channels], 1, 1, 'same', undefined, false, 'channelsLast');
    assert.equal(winogradTileFor(info(8, 128, 16), 2), 4, 'the lite U-Net\'s first stage');
    assert.equal(winogradTileFor(info(8, 8, 256), 2), 4, 'the lite U-Net\'s bottleneck: 9 MB of transformed filter');
    assert.equal(winogradTileFor(info(8, 16, 1024), 2), 4, '128 tiles fill two threads\' blocks');
    assert.equal(winogradTileFor(info(8, 8, 1024), 2), 2, '32 tiles and 151 MB of transformed filter');
    assert.equal(winogradTileFor(info(1, 16, 1024), 1), 2, 'one image: 16 tiles');
  });

  it('leaves to XNNPACK what Winograd does not compute', () => {
    const info = (x: [number, number, number, number], f: [number, number, number, number], stride: number, dilation = 1) =>
      tf.backend_util.computeConv2DInfo(x, f, stride, dilation, 'same', undefined, false, 'channelsLast');
    assert.equal(winogradApplies(info([1, 8, 8, 8], [3, 3, 8, 8], 2)), false, 'strided');
    assert.equal(winogradApplies(info([1, 8, 8, 8], [3, 3, 8, 8], 1, 2)), false, 'dilated');
    assert.equal(winogradApplies(info([1, 8, 8, 1], [3, 3, 1, 16], 1)), false, 'one input channel (the first layer)');
    assert.equal(winogradApplies(info([1, 8, 8, 8], [3, 3, 8, 6], 1)), false, 'output channels not in fours');
    assert.equal(winogradApplies(info([1, 8, 8, 8], [2, 2, 8, 8], 1)), false, '2x2 filter');
  });
});

describe('engine: fused instance norm + LeakyReLU on wasm (SIMD where channels allow) match the cpu backend', function () {
  this.timeout(120_000);
  const attrs = { epsilon: 1e-5, alpha: 0.01 };

  it('runs the SIMD kernels and says so in the engine log line', async () => {
    const info = await initEngine({ backend: 'wasm', log: () => {} });
    assert.equal(simdUnavailable(), undefined);
    const memory = new WasmHeap(tf.backend() as BackendWasm).memory;
    assert.ok(memory && simdKernels(memory), 'no SIMD kernels for the backend memory');
    assert.match(info.reason, /wasm SIMD kernels: stride-1 3x3 convolutions by Winograd F\(4x4, 3x3\) or F\(2x2, 3x3\) \(forward and both gradients\), the other filter gradients and instance norm on every thread; Adam, the loss, input-gradient scatters, channel splits, concatenations, slices and sums over pixels, and depth-to-space/);
  });

  /** Seeded shapes; channel counts divisible by 4 take the SIMD kernels, the others the JS loops. */
  const r = values(4 * 14, 91);
  const pick = (x: number, options: number[]) => options[Math.floor(((x + 1) / 2) * options.length)]!;
  const shapes = Array.from({ length: 14 }, (_, i) => [
    pick(r[4 * i]!, [1, 2, 3]),
    pick(r[4 * i + 1]!, [1, 3, 8, 13, 16]),
    pick(r[4 * i + 2]!, [2, 5, 8, 11]),
    pick(r[4 * i + 3]!, [1, 3, 4, 5, 8, 12, 16, 32, 64]),
  ]);
  for (const shape of shapes) {
    const channels = shape[3]!;
    it(`forward and backward: x [${shape}] (${channels % SIMD_LANES === 0 ? 'SIMD' : 'JS loops'})`, async () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const stats = [shape[0]!, 1, 1, channels];
      // Per-channel offsets up to 40 standard deviations: the statistics must not lose them.
      const x = values(size, size).map((v, i) => v + 4 * (i % channels));
      const forwardInputs = { x, gamma: values(channels, 3).map((v) => 1 + v), beta: values(channels, 4).map((v) => 0.5 * v) };
      const forwardShapes = { x: shape, gamma: [channels], beta: [channels] };
      const expected = await runKernelOutputs('cpu', INSTANCE_NORM_ACT, forwardInputs, forwardShapes, attrs);
      const actual = await runKernelOutputs('wasm', INSTANCE_NORM_ACT, forwardInputs, forwardShapes, attrs);
      ['out', 'mean', 'invStd'].forEach((name, i) => assert.ok(relativeError(actual[i]!, expected[i]!) < 1e-4, `${name}: ${relativeError(actual[i]!, expected[i]!)}`));

      const backwardInputs = { ...forwardInputs, dy: values(size, size + 1), mean: expected[1]!, invStd: expected[2]! };
      const backwardShapes = { ...forwardShapes, dy: shape, mean: stats, invStd: stats };
      const expectedGrads = await runKernelOutputs('cpu', INSTANCE_NORM_ACT_GRAD, backwardInputs, backwardShapes, attrs);
      const actualGrads = await runKernelOutputs('wasm', INSTANCE_NORM_ACT_GRAD, backwardInputs, backwardShapes, attrs);
      ['dx', 'dGamma', 'dBeta'].forEach((name, i) => assert.ok(relativeError(actualGrads[i]!, expectedGrads[i]!) < 1e-4, `${name}: ${relativeError(actualGrads[i]!, expectedGrads[i]!)}`));
    });
  }

  for (const shared of [false, true]) {
    it(`the SIMD build for a ${shared ? 'shared' : 'plain'} memory equals the JS loops on it`, () => {
      const WebAssembly = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory } }).WebAssembly;
      const memory = new WebAssembly.Memory({ initial: 16, maximum: 16, shared });
      const kernels = simdKernels(memory)!;
      const [samples, pixels, channels] = [3, 37, 12];
      const layout = { samples, pixels, channels };
      const size = samples * pixels * channels;
      // Float offsets of 1 mod 4: the tensors need not be 16-byte aligned.
      const sizes = [size, channels, channels, size, samples * channels, samples * channels, size, size, channels, channels];
      const offsets = sizes.map((_, i) => 1 + sizes.slice(0, i).reduce((a, b) => a + b + 4, 0));
      const floats = new Float32Array(memory.buffer);
      const [x, gamma, beta, out, mean, invStd, dOut, dx, dGamma, dBeta] = sizes.map((n, i) => floats.subarray(offsets[i]!, offsets[i]! + n)) as Float32Array[];
      x!.set(values(size, 5).map((v, i) => 2 * v + (i % 5)));
      gamma!.set(values(channels, 6));
      beta!.set(values(channels, 7));
      dOut!.set(values(size, 8));
      const p = offsets.map((o) => 4 * o);
      const before = floats.slice();
      kernels.instanceNormActForward(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, samples, pixels, channels, attrs.epsilon, attrs.alpha);
      kernels.instanceNormActBackward(p[6]!, p[0]!, p[4]!, p[5]!, p[1]!, p[2]!, p[7]!, p[8]!, p[9]!, samples, pixels, channels, attrs.alpha);
      const simd = [out!, mean!, invStd!, dx!, dGamma!, dBeta!].map((a) => a.slice());
      const reference = [size, samples * channels, samples * channels, size, channels, channels].map((n) => new Float32Array(n));
      instanceNormActForward(x!, gamma!, beta!, reference[0]!, reference[1]!, reference[2]!, layout, attrs);
      instanceNormActBackward(dOut!, x!, reference[1]!, reference[2]!, gamma!, beta!, reference[3]!, reference[4]!, reference[5]!, layout, attrs);
      simd.forEach((a, i) => assert.ok(relativeError(a, reference[i]!) < 1e-5, `output ${i}: ${relativeError(a, reference[i]!)}`));
      // Inputs, gaps and the rest of the memory are as they were.
      const outside = (all: Float32Array) => {
        const copy = all.slice();
        for (const i of [3, 4, 5, 7, 8, 9]) copy.fill(0, offsets[i]!, offsets[i]! + sizes[i]!);
        return Buffer.from(copy.buffer);
      };
      assert.ok(outside(floats).equals(outside(before)), 'wrote outside its outputs');
    });
  }
});
