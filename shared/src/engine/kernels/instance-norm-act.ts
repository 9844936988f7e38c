/**
 * Instance normalisation + per-channel affine + LeakyReLU as one kernel, forward and backward, for
 * the wasm and cpu backends. Composed from tfjs ops the block costs about ten element-wise kernels
 * (each a full pass over memory and a fresh output tensor) and keeps several full-size tensors for
 * the gradient; here it is two passes each way, written as plain loops over the backend's memory
 * (the wasm heap in place), and the backward pass needs only the input and the per-channel
 * statistics. On wasm, channel counts divisible by 4 run the same maths as WebAssembly SIMD
 * (shared/wasm/instance-norm-act.ts); the JS loops here serve the rest, the cpu backend, and
 * runtimes without SIMD.
 *
 * Forward  (x [N,H,W,C], gamma [C], beta [C]) -> [out [N,H,W,C], mean [N,1,1,C], invStd [N,1,1,C]]
 * Backward (dOut, x, mean, invStd, gamma, beta) -> [dx, dGamma [C], dBeta [C]]
 * Statistics are accumulated in float64.
 */
import { registerGradient, type KernelConfig, type KernelFunc, type NamedAttrMap, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../errors.js';
import { SIMD_LANES, simdKernels, type SimdKernels } from './simd.js';
import { kernelPool, runOverSamples } from './kernel-pool.js';
import { WasmHeap } from './wasm-heap.js';

export const INSTANCE_NORM_ACT = 'LgefedInstanceNormLeakyRelu';
export const INSTANCE_NORM_ACT_GRAD = 'LgefedInstanceNormLeakyReluGrad';

export interface InstanceNormActAttrs {
  readonly epsilon: number;
  /** LeakyReLU negative slope. */
  readonly alpha: number;
}

/**
 * Reductions walk blocks of this many pixels channel by channel, summing in local variables: a
 * block stays in L1 cache, and the sums stay in registers instead of a per-channel array.
 */
const REDUCTION_BLOCK = 256;

interface Layout {
  readonly samples: number;
  readonly pixels: number;
  readonly channels: number;
}

function layoutOf(x: TensorInfo, gamma: TensorInfo, beta: TensorInfo): Layout {
  if (x.shape.length !== 4) throw new EngineError(`${INSTANCE_NORM_ACT}: x must be [N,H,W,C], got [${x.shape}]`);
  const [samples, height, width, channels] = x.shape as [number, number, number, number];
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t.shape.reduce((a, b) => a * b, 1) !== channels) {
      throw new EngineError(`${INSTANCE_NORM_ACT}: ${name} is [${t.shape}], expected ${channels} values`);
    }
  }
  return { samples, pixels: height * width, channels };
}

/** out = leaky(gamma * (x - mean) * invStd + beta), statistics per sample and channel. */
export function instanceNormActForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  out: Float32Array,
  mean: Float32Array,
  invStd: Float32Array,
  { samples, pixels, channels }: Layout,
  { epsilon, alpha }: InstanceNormActAttrs,
): void {
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let n = 0; n < samples; n++) {
    const start = n * pixels * channels;
    const end = start + pixels * channels;
    sum.fill(0);
    sumSq.fill(0);
    for (let block = start; block < end; block += REDUCTION_BLOCK * channels) {
      const blockEnd = Math.min(end, block + REDUCTION_BLOCK * channels);
      for (let c = 0; c < channels; c++) {
        let s = 0;
        let sq = 0;
        for (let i = block + c; i < blockEnd; i += channels) {
          const v = x[i]!;
          s += v;
          sq += v * v;
        }
        sum[c] += s;
        sumSq[c] += sq;
      }
    }
    for (let c = 0; c < channels; c++) {
      const m = sum[c]! / pixels;
      const variance = Math.max(0, sumSq[c]! / pixels - m * m);
      const inv = 1 / Math.sqrt(variance + epsilon);
      mean[n * channels + c] = m;
      invStd[n * channels + c] = inv;
      // gamma * (x - m) * inv + beta as one multiply-add per element.
      scale[c] = gamma[c]! * inv;
      shift[c] = beta[c]! - gamma[c]! * inv * m;
    }
    for (let i = start; i < end; i += channels) {
      for (let c = 0; c < channels; c++) {
        const a = x[i + c]! * scale[c]! + shift[c]!;
        out[i + c] = a < 0 ? alpha * a : a;
      }
    }
  }
}

/**
 * With g = dOut * leaky'(affine) and xHat = (x - mean) * invStd:
 * dBeta = sum g, dGamma = sum g * xHat, dx = gamma * invStd * (g - mean(g) - xHat * mean(g * xHat)).
 */
export function instanceNormActBackward(
  dOut: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  invStd: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  dx: Float32Array,
  dGamma: Float32Array,
  dBeta: Float32Array,
  { samples, pixels, channels }: Layout,
  { alpha }: InstanceNormActAttrs,
): void {
  const sumG = new Float64Array(channels);
  const sumGX = new Float64Array(channels);
  const totalG = new Float64Array(channels);
  const totalGX = new Float64Array(channels);
  const m = new Float64Array(channels);
  const inv = new Float64Array(channels);
  const coefG = new Float64Array(channels);
  const coefX = new Float64Array(channels);
  const offset = new Float64Array(channels);
  for (let n = 0; n < samples; n++) {
    const start = n * pixels * channels;
    const end = start + pixels * channels;
    for (let c = 0; c < channels; c++) {
      m[c] = mean[n * channels + c]!;
      inv[c] = invStd[n * channels + c]!;
    }
    sumG.fill(0);
    sumGX.fill(0);
    for (let block = start; block < end; block += REDUCTION_BLOCK * channels) {
      const blockEnd = Math.min(end, block + REDUCTION_BLOCK * channels);
      for (let c = 0; c < channels; c++) {
        const mc = m[c]!;
        const ic = inv[c]!;
        const gc = gamma[c]!;
        const bc = beta[c]!;
        let sg = 0;
        let sgx = 0;
        for (let i = block + c; i < blockEnd; i += channels) {
          const xHat = (x[i]! - mc) * ic;
          const d = dOut[i]!;
          const g = gc * xHat + bc > 0 ? d : alpha * d;
          sg += g;
          sgx += g * xHat;
        }
        sumG[c] += sg;
        sumGX[c] += sgx;
      }
    }
    for (let c = 0; c < channels; c++) {
      totalG[c] += sumG[c]!;
      totalGX[c] += sumGX[c]!;
      const k = gamma[c]! * inv[c]!;
      coefG[c] = k;
      coefX[c] = (k * sumGX[c]!) / pixels;
      offset[c] = (k * sumG[c]!) / pixels;
    }
    for (let i = start; i < end; i += channels) {
      for (let c = 0; c < channels; c++) {
        const xHat = (x[i + c]! - m[c]!) * inv[c]!;
        const d = dOut[i + c]!;
        const g = gamma[c]! * xHat + beta[c]! > 0 ? d : alpha * d;
        dx[i + c] = coefG[c]! * g - offset[c]! - coefX[c]! * xHat;
      }
    }
  }
  for (let c = 0; c < channels; c++) {
    dGamma[c] = totalGX[c]!;
    dBeta[c] = totalG[c]!;
  }
}

function attrsOf(attrs: NamedAttrMap): InstanceNormActAttrs {
  const epsilon = attrs['epsilon'] as number;
  const alpha = attrs['alpha'] as number;
  if (!(epsilon > 0) || !Number.isFinite(alpha)) throw new EngineError(`${INSTANCE_NORM_ACT}: bad attributes epsilon=${epsilon} alpha=${alpha}`);
  return { epsilon, alpha };
}

function statsShape(x: TensorInfo): number[] {
  return [x.shape[0]!, 1, 1, x.shape[3]!];
}

function checkSameShape(name: string, a: TensorInfo, b: TensorInfo): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new EngineError(`${INSTANCE_NORM_ACT_GRAD}: ${name} is [${a.shape}], expected [${b.shape}]`);
  }
}

/** Float32 views of tensors on either backend: the wasm heap in place, or the cpu backend's arrays. */
type Views = (tensors: TensorInfo[]) => Float32Array[];

function wasmViews(heap: WasmHeap): Views {
  return (tensors) => {
    // One heap view after every allocation (growing the heap replaces its buffer).
    const { heap: floats, offsets } = heap.view(...tensors);
    return tensors.map((t, i) => floats.subarray(offsets[i]!, offsets[i]! + t.shape.reduce((a, b) => a * b, 1)));
  };
}

/** The SIMD kernels on this backend's memory, when the runtime has them and the channels fit the vectors. */
function simdFor(heap: WasmHeap, { channels }: Layout): SimdKernels | undefined {
  const memory = heap.memory;
  return memory && channels % SIMD_LANES === 0 ? simdKernels(memory) : undefined;
}

interface CpuBackend {
  readSync(dataId: object): Float32Array;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

function forwardKernel(backendName: 'wasm' | 'cpu'): KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const layout = layoutOf(x, gamma, beta);
    const parsed = attrsOf(attrs ?? {});
    if (backendName === 'wasm') {
      const heap = new WasmHeap(backend as BackendWasm);
      const outputs = [heap.allocate([...x.shape]), heap.allocate(statsShape(x)), heap.allocate(statsShape(x))];
      const simd = simdFor(heap, layout);
      if (simd) {
        const [xp, gp, bp, outp, meanp, invp] = heap.byteOffsets(x, gamma, beta, ...outputs) as [number, number, number, number, number, number];
        const { pixels, channels } = layout;
        // Statistics are per sample: the samples are shared out over the kernel helpers.
        runOverSamples(heap.memory && kernelPool(heap.memory), 'instanceNormActForward', layout.samples, simd.instanceNormActForward, ({ first, count }) => {
          const image = first * pixels * channels * 4;
          const stats = first * channels * 4;
          return [xp + image, gp, bp, outp + image, meanp + stats, invp + stats, count, pixels, channels, parsed.epsilon, parsed.alpha];
        });
        return outputs;
      }
      const [xs, gs, bs, out, mean, inv] = wasmViews(heap)([x, gamma, beta, ...outputs]) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
      instanceNormActForward(xs, gs, bs, out, mean, inv, layout, parsed);
      return outputs;
    }
    const cpu = backend as unknown as CpuBackend;
    const size = x.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(size);
    const mean = new Float32Array(layout.samples * layout.channels);
    const inv = new Float32Array(layout.samples * layout.channels);
    instanceNormActForward(cpu.readSync(x.dataId), cpu.readSync(gamma.dataId), cpu.readSync(beta.dataId), out, mean, inv, layout, parsed);
    return [cpu.makeTensorInfo([...x.shape], 'float32', out), cpu.makeTensorInfo(statsShape(x), 'float32', mean), cpu.makeTensorInfo(statsShape(x), 'float32', inv)];
  };
}

function backwardKernel(backendName: 'wasm' | 'cpu'): KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const { dy, x, mean, invStd, gamma, beta } = inputs as Record<'dy' | 'x' | 'mean' | 'invStd' | 'gamma' | 'beta', TensorInfo>;
    const layout = layoutOf(x, gamma, beta);
    checkSameShape('dy', dy, x);
    const stats = { shape: statsShape(x) } as TensorInfo;
    checkSameShape('mean', mean, stats);
    checkSameShape('invStd', invStd, stats);
    const parsed = attrsOf(attrs ?? {});
    const channels = [layout.channels];
    if (backendName === 'wasm') {
      const heap = new WasmHeap(backend as BackendWasm);
      const outputs = [heap.allocate([...x.shape]), heap.allocate(channels), heap.allocate(channels)];
      const simd = simdFor(heap, layout);
      if (simd) {
        const { samples, pixels, channels: C } = layout;
        const pool = heap.memory && kernelPool(heap.memory);
        // Shared out by samples; each helper sums its dGamma and dBeta apart, added up here.
        const helpers = Math.max(0, Math.min(pool?.threads ?? 1, samples) - 1);
        const partials = helpers > 0 ? heap.allocate([helpers, 2, C]) : undefined;
        const p = heap.byteOffsets(dy, x, mean, invStd, gamma, beta, ...outputs, ...(partials ? [partials] : []));
        const threads = runOverSamples(pool, 'instanceNormActBackward', samples, simd.instanceNormActBackward, ({ first, count }, t) => {
          const image = first * pixels * C * 4;
          const stats = first * C * 4;
          const [dGamma, dBeta] = t === 0 ? [p[7]!, p[8]!] : [p[9]! + (t - 1) * 2 * C * 4, p[9]! + ((t - 1) * 2 + 1) * C * 4];
          return [p[0]! + image, p[1]! + image, p[2]! + stats, p[3]! + stats, p[4]!, p[5]!, p[6]! + image, dGamma, dBeta, count, pixels, C, parsed.alpha];
        });
        if (partials) {
          const { heap: floats, offsets } = heap.view(outputs[1]!, outputs[2]!, partials);
          const [dGammaAt, dBetaAt, partialsAt] = offsets as [number, number, number];
          for (let t = 1; t < threads; t++) {
            const from = partialsAt + (t - 1) * 2 * C;
            for (let c = 0; c < C; c++) {
              floats[dGammaAt + c]! += floats[from + c]!;
              floats[dBetaAt + c]! += floats[from + C + c]!;
            }
          }
          heap.dispose(partials);
        }
        return outputs;
      }
      const v = wasmViews(heap)([dy, x, mean, invStd, gamma, beta, ...outputs]) as Float32Array[];
      instanceNormActBackward(v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!, v[6]!, v[7]!, v[8]!, layout, parsed);
      return outputs;
    }
    const cpu = backend as unknown as CpuBackend;
    const read = (t: TensorInfo) => cpu.readSync(t.dataId);
    const dx = new Float32Array(x.shape.reduce((a, b) => a * b, 1));
    const dGamma = new Float32Array(layout.channels);
    const dBeta = new Float32Array(layout.channels);
    instanceNormActBackward(read(dy), read(x), read(mean), read(invStd), read(gamma), read(beta), dx, dGamma, dBeta, layout, parsed);
    return [cpu.makeTensorInfo([...x.shape], 'float32', dx), cpu.makeTensorInfo(channels, 'float32', dGamma), cpu.makeTensorInfo(channels, 'float32', dBeta)];
  };
}

/** The forward and backward kernels for both backends that hold float32 data we can loop over. */
export const instanceNormActConfigs: KernelConfig[] = (['wasm', 'cpu'] as const).flatMap((backendName) => [
  { kernelName: INSTANCE_NORM_ACT, backendName, kernelFunc: forwardKernel(backendName) },
  { kernelName: INSTANCE_NORM_ACT_GRAD, backendName, kernelFunc: backwardKernel(backendName) },
]);

let gradientRegistered = false;

/**
 * Autodiff through the fused kernel (for callers that differentiate `UNet.forward` with tf.grad).
 * Only `out` is differentiable; the statistics outputs are for the backward kernel.
 */
export function registerInstanceNormActGradient(): void {
  if (gradientRegistered) return;
  registerGradient({
    kernelName: INSTANCE_NORM_ACT,
    inputsToSave: ['x', 'gamma', 'beta'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, beta, mean, invStd] = saved as Tensor[];
      const dy = (dys as Tensor[])[0]!;
      // Each requested input gradient runs the kernel once: tfjs evaluates them in separate tidies.
      const part = (index: number) => () => {
        const all = tf.engine().runKernel(INSTANCE_NORM_ACT_GRAD, { dy, x: x!, mean: mean!, invStd: invStd!, gamma: gamma!, beta: beta! }, attrs) as Tensor[];
        const wanted = all[index]!;
        tf.dispose(all.filter((_, i) => i !== index));
        return index === 0 ? wanted : tf.reshape(wanted, gamma!.shape);
      };
      return { x: part(0), gamma: part(1), beta: part(2) };
    },
  });
  gradientRegistered = true;
}
