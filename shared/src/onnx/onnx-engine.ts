/**
 * Whole-image inference on onnxruntime-node's native CPU kernels: the U-Net is written out as an
 * ONNX graph (unet-graph.ts) and run in an InferenceSession. onnxruntime-node is an optional
 * dependency, imported only when an engine is loaded, so the product works (on tfjs) without it.
 */
import { availableParallelism } from 'node:os';
import type { ProbabilityEngine } from '../model/probability-engine.js';
import type { UNetSpec } from '../model/spec.js';
import { ModelInputError } from '../model/unet.js';
import type { NamedTensor } from '../model/weights.js';
import { ONNX_INPUT, ONNX_OUTPUT, unetOnnxModel } from './unet-graph.js';

export const ONNX_RUNTIME_MODULE = 'onnxruntime-node';

/** onnxruntime-node is not installed, or its native binding does not load on this platform. */
export class OnnxUnavailableError extends Error {
  override readonly name = 'OnnxUnavailableError';
}

// The few parts of onnxruntime-node's API used here, declared locally so this compiles without the
// optional package.
interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
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

export interface OnnxEngineOptions {
  /** Threads for the kernels (intra-op). Default: the available cores. */
  readonly threads?: number;
  /** Module loader; tests pass one that fails to simulate a missing runtime. Default: dynamic import. */
  readonly importRuntime?: () => Promise<unknown>;
}

const defaultImport = () => import(ONNX_RUNTIME_MODULE);

async function importOrt(importRuntime: () => Promise<unknown> = defaultImport): Promise<OrtModule> {
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

export class OnnxProbabilityEngine implements ProbabilityEngine {
  readonly name: string;
  readonly classes: number;

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    private readonly divisor: number,
    classes: number,
    threads: number,
  ) {
    this.classes = classes;
    this.name = `${ONNX_RUNTIME_MODULE} ${ort.env.versions.node ?? ort.env.versions.common} cpu, ${threads} thread${threads === 1 ? '' : 's'}`;
  }

  /** Builds the ONNX graph of `spec` with `weights` and opens a session on it. */
  static async load(spec: UNetSpec, weights: readonly NamedTensor[], options: OnnxEngineOptions = {}): Promise<OnnxProbabilityEngine> {
    // The engine's images are one-channel NHWC, which is byte-identical to the graph's NCHW input only then.
    if (spec.inChannels !== 1) throw new ModelInputError(`the ONNX engine takes one-channel images, the model has ${spec.inChannels}`);
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new ModelInputError(`threads must be a positive integer, got ${threads}`);
    const ort = await importOrt(options.importRuntime);
    const session = await ort.InferenceSession.create(unetOnnxModel(spec, weights), {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      // One chain of ops: parallelism is inside the kernels, not between nodes.
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    return new OnnxProbabilityEngine(ort, session, 2 ** (spec.stages - 1), spec.classes, threads);
  }

  async probabilities(images: Float32Array, n: number, size: number): Promise<Float32Array> {
    if (!Number.isInteger(n) || n < 1) throw new ModelInputError(`batch size must be a positive integer, got ${n}`);
    if (!Number.isInteger(size) || size < 1 || size % this.divisor !== 0) {
      throw new ModelInputError(`image size ${size} must be a positive multiple of 2^(stages-1) = ${this.divisor}`);
    }
    if (images.length !== n * size * size) {
      throw new ModelInputError(`images hold ${images.length} values, expected ${n}x${size}x${size}x1 = ${n * size * size}`);
    }
    const outputs = await this.session.run({ [ONNX_INPUT]: new this.ort.Tensor('float32', images, [n, 1, size, size]) });
    const data = outputs[ONNX_OUTPUT]?.data;
    if (!(data instanceof Float32Array) || data.length !== n * size * size * this.classes) {
      throw new Error(`onnxruntime returned no float32 ${ONNX_OUTPUT} of ${n}x${size}x${size}x${this.classes}`);
    }
    return data;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
