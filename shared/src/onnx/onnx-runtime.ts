/**
 * onnxruntime-node, loaded on demand: it is an optional dependency, so the product works (on tfjs)
 * without it. The few parts of its API used here are declared locally so this compiles without it.
 */
import { ModelInputError } from '../model/unet.js';
import { ONNX_INPUT, ONNX_OUTPUT } from './unet-graph.js';

export const ONNX_RUNTIME_MODULE = 'onnxruntime-node';

/** onnxruntime-node is not installed, or its native binding does not load on this platform. */
export class OnnxUnavailableError extends Error {
  override readonly name = 'OnnxUnavailableError';
}

interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
export interface OrtModule {
  readonly env: { readonly versions: { readonly common: string; readonly node?: string } };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  readonly InferenceSession: {
    create(
      model: Uint8Array,
      options: {
        executionProviders: readonly string[];
        graphOptimizationLevel: 'all';
        intraOpNumThreads: number;
        interOpNumThreads: number;
        executionMode: 'sequential';
      },
    ): Promise<OrtSession>;
  };
}

const defaultImport = () => import(ONNX_RUNTIME_MODULE);

export async function importOrt(importRuntime: () => Promise<unknown> = defaultImport): Promise<OrtModule> {
  let loaded: unknown;
  try {
    loaded = await importRuntime();
  } catch (cause) {
    throw new OnnxUnavailableError(`${ONNX_RUNTIME_MODULE} cannot be loaded: ${(cause as Error).message}`, { cause });
  }
  const ort = loaded as Partial<OrtModule> | undefined;
  if (typeof ort?.InferenceSession?.create !== 'function' || typeof ort.Tensor !== 'function') {
    throw new OnnxUnavailableError(`${ONNX_RUNTIME_MODULE} loaded but does not look like onnxruntime (no InferenceSession)`);
  }
  return ort as OrtModule;
}

/** Whether onnxruntime-node can be loaded here; never throws. */
export async function onnxRuntimeAvailable(importRuntime?: () => Promise<unknown>): Promise<boolean> {
  return importOrt(importRuntime).then(
    () => true,
    () => false,
  );
}

/** A CPU session on an encoded ONNX model whose kernels use `threads` threads. */
export function openSession(ort: OrtModule, model: Uint8Array, threads: number): Promise<OrtSession> {
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    // One chain of ops: parallelism is inside the kernels (or across lanes), not between nodes.
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
}

/** Throws ModelInputError unless `images` hold n one-channel size x size images. */
export function checkImages(images: Float32Array, n: number, size: number): void {
  if (images.length !== n * size * size) throw new ModelInputError(`images hold ${images.length} values, expected ${n}x${size}x${size}x1 = ${n * size * size}`);
}

/** Softmax probabilities (NHWC, `classes` per pixel) of n one-channel size x size images. */
export async function runSession(ort: OrtModule, session: OrtSession, images: Float32Array, n: number, size: number, classes: number): Promise<Float32Array> {
  checkImages(images, n, size);
  // The engine's images are one-channel NHWC, which is byte-identical to the graph's NCHW input.
  const outputs = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', images, [n, 1, size, size]) });
  const data = outputs[ONNX_OUTPUT]?.data;
  if (!(data instanceof Float32Array) || data.length !== n * size * size * classes) {
    throw new Error(`onnxruntime returned no float32 ${ONNX_OUTPUT} of ${n}x${size}x${size}x${classes}`);
  }
  return data;
}
