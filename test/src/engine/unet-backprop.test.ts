import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine, INSTANCE_NORM_ACT, INSTANCE_NORM_ACT_GRAD, instanceNormAct, instanceNormActGrad } from '@lgefed/shared/engine/index';
import { instanceNormActConfigs } from '@lgefed/shared/engine/kernels/instance-norm-act';
import { diceCrossEntropy, initialWeights, oneHotAtLevel, supervisedLevels, UNet, validateSpec, type NamedTensor } from '@lgefed/shared/model/index';
import { unetLossAndGradients } from '@lgefed/shared/model/unet-backprop';
import { AdamOptimizer } from '@lgefed/shared/model/adam';
import { ADAM_UPDATE } from '@lgefed/shared/engine/kernels/adam';
import { relativeError, values } from './numeric.js';

/** Runs `f` with the cpu backend's fused kernels removed, so tfjs ops (and autodiff) do the work. */
async function withoutCpuFusedKernels<T>(f: () => Promise<T>): Promise<T> {
  await tf.setBackend('cpu');
  tf.unregisterKernel(INSTANCE_NORM_ACT, 'cpu');
  tf.unregisterKernel(INSTANCE_NORM_ACT_GRAD, 'cpu');
  try {
    return await f();
  } finally {
    for (const config of instanceNormActConfigs.filter((c) => c.backendName === 'cpu')) tf.registerKernel(config);
  }
}

const ATTRS = { epsilon: 1e-5, alpha: 0.01 };

/**
 * tfjs-core alone registers no gradients; the model registers those it uses. The reference below
 * differentiates tf.moments and tf.rsqrt as well, so it adds their textbook gradients.
 */
function registerReferenceGradients(): void {
  if (!tf.getGradient('Square')) {
    tf.registerGradient({ kernelName: 'Square', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(x!, 2)) }) });
  }
  if (!tf.getGradient('Rsqrt')) {
    tf.registerGradient({ kernelName: 'Rsqrt', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as tf.Tensor, tf.mul(tf.pow(x!, 1.5), -2)) }) });
  }
}

/** The network's original composed maths: moments, normalise, affine, LeakyReLU. */
function composedForward(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, ATTRS.epsilon)));
  return tf.leakyRelu(tf.add(tf.mul(normalised, gamma), beta), ATTRS.alpha) as tf.Tensor4D;
}

describe('engine: fused instance norm + LeakyReLU, explicit U-Net backward, lean Adam', function () {
  this.timeout(120_000);
  before(async () => {
    await initEngine({ backend: 'wasm', threads: 1, log: () => {} });
    registerReferenceGradients();
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  const shapes: [number, number, number, number][] = [
    [1, 5, 7, 3],
    [2, 8, 8, 16],
    [3, 9, 6, 1],
    [2, 13, 11, 8],
  ];
  for (const shape of shapes) {
    it(`forward and backward on wasm match tfjs ops + autodiff on cpu: x [${shape}]`, async () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const channels = shape[3];
      // An offset and scale per tensor so the statistics matter; beta spreads values across zero.
      const xs = values(size, size).map((v, i) => 3 * v + (i % channels) - 1);
      const gs = values(channels, 7).map((v) => 1.5 * v);
      const bs = values(channels, 9).map((v) => 0.5 * v);
      const dys = values(size, 11);

      const expected = await withoutCpuFusedKernels(async () => {
        const [x, gamma, beta, dy] = [tf.tensor4d(xs, shape), tf.tensor1d(gs), tf.tensor1d(bs), tf.tensor4d(dys, shape)];
        const out = composedForward(x, gamma, beta);
        const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(composedForward(a as tf.Tensor4D, g, b), dy)))([x, gamma, beta]);
        const result = { out: await out.data(), dx: await grads[0]!.data(), dGamma: await grads[1]!.data(), dBeta: await grads[2]!.data() };
        tf.dispose([x, gamma, beta, dy, out, ...grads]);
        return result;
      });

      await tf.setBackend('wasm');
      const [x, gamma, beta, dy] = [tf.tensor4d(xs, shape), tf.tensor1d(gs), tf.tensor1d(bs), tf.tensor4d(dys, shape)];
      const before = { tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() };
      const forward = instanceNormAct(x, gamma, beta, ATTRS);
      const backward = instanceNormActGrad(dy, x, forward.mean, forward.invStd, gamma, beta, ATTRS);
      assert.ok(relativeError(await forward.out.data(), expected.out) < 1e-4, 'out');
      assert.ok(relativeError(await backward.dx.data(), expected.dx) < 1e-4, `dx ${relativeError(await backward.dx.data(), expected.dx)}`);
      assert.ok(relativeError(await backward.dGamma.data(), expected.dGamma) < 1e-4, 'dGamma');
      assert.ok(relativeError(await backward.dBeta.data(), expected.dBeta) < 1e-4, 'dBeta');
      assert.deepEqual(backward.dGamma.shape, [channels]);
      tf.dispose([forward.out, forward.mean, forward.invStd, backward.dx, backward.dGamma, backward.dBeta]);
      assert.deepEqual({ tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() }, before, 'leaked');

      // tf.grad through the fused kernel (its registered gradient) agrees too.
      const viaTape = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(instanceNormAct(a as tf.Tensor4D, g, b, ATTRS).out, dy)))([x, gamma, beta]);
      assert.ok(relativeError(await viaTape[0]!.data(), expected.dx) < 1e-4, 'dx via tape');
      assert.ok(relativeError(await viaTape[1]!.data(), expected.dGamma) < 1e-4, 'dGamma via tape');
      tf.dispose([x, gamma, beta, dy, ...viaTape]);
    });
  }

  it('rejects a gamma that does not match the channels', async () => {
    await tf.setBackend('wasm');
    const [x, gamma, beta] = [tf.zeros([1, 4, 4, 3]) as tf.Tensor4D, tf.ones([2]), tf.zeros([3])];
    assert.throws(() => instanceNormAct(x, gamma, beta, ATTRS), (e: Error) => e.name === 'EngineError' && /gamma is \[2\]/.test(e.message));
    tf.dispose([x, gamma, beta]);
  });

  const spec = validateSpec({ architecture: 'unet2d-instancenorm-leakyrelu', stages: 3, baseFeatures: 4, maxFeatures: 8, inputSize: 16, inChannels: 1, classes: 3 });
  const batch = 2;
  const images = values(batch * 16 * 16, 21);
  const labels = new Uint8Array(batch * 16 * 16).map((_, i) => (i * 7 + (i >> 4)) % 3);
  const levels = supervisedLevels(spec);
  const lossOf = (heads: Map<number, tf.Tensor4D>) =>
    tf.addN(levels.map(({ level, weight }) => tf.mul(diceCrossEntropy(heads.get(level)!, oneHotAtLevel(labels, batch, 16, 3, level)), weight))) as tf.Scalar;
  const weights: NamedTensor[] = initialWeights(spec, 4).map((w) =>
    // Non-trivial norm parameters, so their gradients and the LeakyReLU's negative side are exercised.
    w.name.endsWith('gamma') || w.name.endsWith('beta') ? { ...w, data: values(w.data.length, w.data.length).map((v) => (w.name.endsWith('gamma') ? 1 + 0.5 * v : 0.3 * v)) } : w,
  );

  /** Reference: tfjs autodiff through UNet.forward with the original composed norm, on cpu. */
  async function autodiffGradients(trainable: string[]): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
    return withoutCpuFusedKernels(async () => {
      const model = new UNet(spec, weights);
      const input = tf.tensor4d(images, [batch, 16, 16, 1]);
      const { value, grads } = tf.variableGrads(() => lossOf(model.forward(input, levels.map((l) => l.level))), trainable.map((n) => model.variable(n)));
      const out = new Map<string, Float32Array>();
      for (const name of trainable) {
        const g = grads[model.variable(name).name];
        if (g) out.set(name, (await g.data()) as Float32Array);
      }
      const loss = (await value.data())[0]!;
      tf.dispose([value, input, ...Object.values(grads)]);
      model.dispose();
      return { loss, grads: out };
    });
  }

  async function explicitGradients(trainable: string[]) {
    await tf.setBackend('wasm');
    const model = new UNet(spec, weights);
    const input = tf.tensor4d(images, [batch, 16, 16, 1]);
    const before = tf.memory().numTensors;
    const { loss, gradients } = unetLossAndGradients(model, input, levels.map((l) => l.level), lossOf, new Set(trainable));
    const grads = new Map<string, Float32Array>();
    for (const [name, g] of Object.entries(gradients)) grads.set(name, (await g.data()) as Float32Array);
    const value = (await loss.data())[0]!;
    tf.dispose([loss, ...Object.values(gradients)]);
    const leaked = tf.memory().numTensors - before;
    input.dispose();
    model.dispose();
    return { loss: value, grads, leaked };
  }

  it('the explicit backward pass on wasm gives autodiff’s loss and gradients for every parameter', async () => {
    const all = new UNet(spec, weights);
    const names = all.parameterNames;
    all.dispose();
    const expected = await autodiffGradients(names);
    const actual = await explicitGradients(names);
    assert.equal(actual.leaked, 0, 'tensors leaked');
    assert.ok(Math.abs(actual.loss - expected.loss) < 1e-5 * Math.abs(expected.loss), `loss ${actual.loss} vs ${expected.loss}`);
    assert.deepEqual([...actual.grads.keys()].sort(), [...expected.grads.keys()].sort());
    for (const [name, g] of expected.grads) {
      const error = relativeError(actual.grads.get(name)!, g);
      assert.ok(error < 1e-4, `${name}: relative error ${error}`);
    }
  });

  it('with frozen blocks, gradients exist only for trainable parameters and still match autodiff', async () => {
    // Train the first encoder block and the last decoder block: the gradient must cross frozen blocks.
    const all = new UNet(spec, weights);
    const trainable = all.parameterNames.filter((n) => n.startsWith('enc0.') || n.startsWith('dec1.'));
    all.dispose();
    const expected = await autodiffGradients(trainable);
    const actual = await explicitGradients(trainable);
    assert.equal(actual.leaked, 0, 'tensors leaked');
    assert.deepEqual([...actual.grads.keys()].sort(), [...expected.grads.keys()].sort());
    for (const [name, g] of expected.grads) assert.ok(relativeError(actual.grads.get(name)!, g) < 1e-4, name);
  });

  it('the per-variable Adam (fused SIMD kernel on wasm) is bit-identical to tf.train.adam', async () => {
    await tf.setBackend('wasm');
    assert.ok(tf.getKernel(ADAM_UPDATE, 'wasm'), 'the fused Adam kernel is registered');
    // Whole vectors, a remainder after them, and fewer values than a vector.
    const shapes = [[3, 3, 2, 4], [4], [2, 5], [3]];
    const make = () => shapes.map((s, i) => tf.variable(tf.tensor(values(s.reduce((a, b) => a * b, 1), 30 + i), s)));
    const ours = make();
    const reference = make();
    const adam = new AdamOptimizer(1e-2);
    const tfAdam = tf.train.adam(1e-2);
    let afterFirst = { tensors: 0, buffers: 0 };
    for (let step = 0; step < 3; step++) {
      const grads = shapes.map((s, i) => tf.tensor(values(s.reduce((a, b) => a * b, 1), 100 * step + i), s));
      adam.applyGradients(ours.map((variable, i) => ({ variable, gradient: grads[i]! })));
      tfAdam.applyGradients(Object.fromEntries(reference.map((v, i) => [v.name, grads[i]!])) as never);
      tf.dispose(grads);
      // The first step creates the moments; later steps must leave nothing behind.
      const now = { tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() };
      if (step === 0) afterFirst = now;
      else assert.deepEqual(now, afterFirst, `step ${step} leaked`);
    }
    for (let i = 0; i < shapes.length; i++) {
      const a = (await ours[i]!.data()) as Float32Array;
      const b = (await reference[i]!.data()) as Float32Array;
      assert.ok(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), `variable ${i} differs`);
      assert.ok(relativeError(a, values(a.length, 30 + i)) > 1e-3, 'the update moved the variable');
    }
    adam.dispose();
    tfAdam.dispose();
    tf.dispose([...ours, ...reference]);
  });
});
