/**
 * Our WebAssembly SIMD kernels, compiled at build time from shared/wasm (AssemblyScript) into
 * dist/wasm, bound to the memory of a tfjs-wasm backend: the module imports that memory, so the
 * kernels read and write tensors in place. There are two builds of the same sources because an
 * imported memory must match in sharedness: the threaded backend's heap is a shared memory, the
 * single-threaded backend's is not. Where the runtime lacks SIMD (the module does not compile) or
 * the build output is missing, callers fall back: the instance norm to its JS loops, Adam to tfjs
 * ops.
 */
import { readFileSync } from 'node:fs';

/** Channels per vector: the kernels need a channel count divisible by this. */
export const SIMD_LANES = 4;

/** Pointers are byte offsets into the imported memory. */
export interface SimdKernels {
  instanceNormActForward(
    x: number, gamma: number, beta: number, out: number, mean: number, invStd: number,
    samples: number, pixels: number, channels: number, epsilon: number, alpha: number,
  ): void;
  instanceNormActBackward(
    dOut: number, x: number, mean: number, invStd: number, gamma: number, beta: number,
    dx: number, dGamma: number, dBeta: number,
    samples: number, pixels: number, channels: number, alpha: number,
  ): void;
  /** dW += Conv2DBackpropFilter of samples [firstBatch, firstBatch + batches), NHWC, output channels in fours (see shared/wasm/filter-gradient.ts). */
  filterGradient(
    x: number, dy: number, dw: number, firstBatch: number, batches: number,
    height: number, width: number, inChannels: number, outHeight: number, outWidth: number, outChannels: number,
    kernelHeight: number, kernelWidth: number, strideH: number, strideW: number, top: number, left: number,
  ): void;
  /** U [16, CI, CO]: the Winograd F(2x2, 3x3) transform of a [3, 3, CI, CO] filter (see shared/wasm/winograd.ts). */
  winogradFilter(filter: number, u: number, inChannels: number, outChannels: number): void;
  /** Tiles [firstTile, firstTile + tileCount) of a stride-1 3x3 NHWC convolution by Winograd F(tile x tile, 3x3) (see shared/wasm/winograd.ts). */
  winogradConv(
    x: number, u: number, out: number, scratch: number, firstTile: number, tileCount: number, blockTiles: number, tile: number,
    height: number, width: number, inChannels: number, outHeight: number, outWidth: number, outChannels: number, top: number, left: number,
  ): void;
  /** Accumulates the Winograd-domain filter gradient of tiles [firstTile, firstTile + tileCount) (see shared/wasm/winograd.ts). */
  winogradFilterGradient(
    x: number, dy: number, acc: number, scratch: number, firstTile: number, tileCount: number, blockTiles: number, tile: number,
    height: number, width: number, inChannels: number, outHeight: number, outWidth: number, outChannels: number, top: number, left: number,
  ): void;
  /** dW [3, 3, CI, CO] from the sum of `partials` accumulator sets (see shared/wasm/winograd.ts). */
  winogradFilterGradientOut(acc: number, partials: number, partialBytes: number, dw: number, inChannels: number, outChannels: number): void;
  /** U [36, CI, CO] for F(4x4, 3x3) (see shared/wasm/winograd-f4.ts); `tmp` holds 18 vectors. */
  winograd4Filter(filter: number, u: number, tmp: number, inChannels: number, outChannels: number): void;
  /** dW from F(4x4, 3x3) accumulators (see shared/wasm/winograd-f4.ts). */
  winograd4FilterGradientOut(acc: number, partials: number, partialBytes: number, dw: number, tmp: number, inChannels: number, outChannels: number): void;
  /** dst [KH, KW, B, A] = src [KH, KW, A, B] flipped in both spatial axes (see shared/wasm/flip-swap-filter.ts). */
  flipSwapFilter(src: number, dst: number, taps: number, a: number, b: number): void;
  /** One output phase of the strided input gradient into dx (see shared/wasm/scatter-phase.ts). */
  scatterPhase(
    part: number, dx: number, batches: number, countH: number, countW: number, height: number, width: number, channels: number,
    strideH: number, strideW: number, rowPhase: number, columnPhase: number,
  ): void;
  /** dst[p, dstFirst..+count) = src[p, srcFirst..+count) for each pixel (see shared/wasm/channel-copy.ts). */
  channelCopy(src: number, srcChannels: number, srcFirst: number, dst: number, dstChannels: number, dstFirst: number, count: number, pixels: number): void;
  /** out[c] = sum over pixels of x[p, c]; `partial` holds a row (see shared/wasm/channel-sum.ts). */
  channelSum(x: number, out: number, partial: number, pixels: number, channels: number): void;
  /** NHWC DepthToSpace, DCR order (see shared/wasm/depth-to-space.ts). */
  depthToSpace(x: number, out: number, batches: number, height: number, width: number, block: number, channels: number): void;
  /** A head's softmax and loss sums (see shared/wasm/softmax-dice.ts). */
  softmaxDiceForward(logits: number, target: number, probabilities: number, stats: number, pixels: number, classes: number): void;
  /** d loss / d logits from the probabilities and the Dice coefficients (see shared/wasm/softmax-dice.ts). */
  softmaxDiceBackward(probabilities: number, target: number, gradient: number, a: number, b: number, pixels: number, classes: number, inversePixels: number): void;
  adamUpdate(
    x: number, gradient: number, m: number, v: number, xOut: number, mOut: number, vOut: number, count: number,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number,
    correction1: number, correction2: number, epsilon: number, negRate: number,
  ): void;
}

/** The slice of the WebAssembly JS API used here (this project compiles without DOM typings). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: { env: { memory: WasmMemory } }) => { exports: unknown };
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const BUILDS = { plain: 'kernels.wasm', shared: 'kernels-shared.wasm' } as const;

type Compiled = { modules: Record<keyof typeof BUILDS, object> } | { unavailable: string };
let compiled: Compiled | undefined;
const instances = new WeakMap<WasmMemory, SimdKernels>();

function compile(): Compiled {
  const load = (file: string) => new webAssembly.Module(readFileSync(new URL(`../../wasm/${file}`, import.meta.url)));
  try {
    return { modules: { plain: load(BUILDS.plain), shared: load(BUILDS.shared) } };
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { unavailable: code === 'ENOENT' ? 'SIMD kernels not built (npm run build)' : `no WebAssembly SIMD: ${(error as Error).message}` };
  }
}

/** Why the SIMD kernels cannot run in this runtime, or undefined when they can. */
export function simdUnavailable(): string | undefined {
  compiled ??= compile();
  return 'unavailable' in compiled ? compiled.unavailable : undefined;
}

/** The kernels working on `memory`, or undefined without SIMD (see `simdUnavailable`). */
export function simdKernels(memory: WasmMemory): SimdKernels | undefined {
  compiled ??= compile();
  if ('unavailable' in compiled) return undefined;
  let kernels = instances.get(memory);
  if (!kernels) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const module = compiled.modules[shared ? 'shared' : 'plain'];
    kernels = new webAssembly.Instance(module, { env: { memory } }).exports as SimdKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}

/** For the engine's log line: which implementations the convolutions, the instance norm and Adam use. */
export function simdNote(): string {
  const reason = simdUnavailable();
  return reason === undefined
    ? 'wasm SIMD kernels: stride-1 3x3 convolutions by Winograd F(4x4, 3x3) or F(2x2, 3x3) (forward and both gradients), the other filter gradients and instance norm on every thread; Adam, the loss, input-gradient scatters, channel splits, concatenations, slices and sums over pixels, and depth-to-space'
    : `convolutions by XNNPACK, instance norm in JS loops, Adam and the loss in tfjs ops, filter-gradient patches and input-gradient scatters in JS, channel splits, concatenations, slices and depth-to-space by the backend: ${reason}`;
}
