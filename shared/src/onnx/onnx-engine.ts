/**
 * Whole-image inference on onnxruntime-node's native CPU kernels: the U-Net is written out as an
 * ONNX graph (unet-graph.ts) and run in one InferenceSession per lane (onnx-lanes.ts).
 * onnxruntime-node is an optional dependency, imported only when an engine is loaded, so the
 * product works (on tfjs) without it.
 */
import { availableParallelism } from 'node:os';
import { sampleRanges } from '../engine/kernels/kernel-pool.js';
import type { ProbabilityEngine } from '../model/probability-engine.js';
import type { UNetSpec } from '../model/spec.js';
import { ModelInputError } from '../model/unet.js';
import type { NamedTensor } from '../model/weights.js';
import { openLanes, type OnnxLane } from './onnx-lanes.js';
import { checkImages, importOrt, ONNX_RUNTIME_MODULE } from './onnx-runtime.js';
import { unetOnnxModel } from './unet-graph.js';

const DEFAULT_MAX_LANES = 4;

export interface OnnxEngineOptions {
  /** Threads in all. Default: the available cores. */
  readonly threads?: number;
  /**
   * Sessions that each infer a share of every batch, in worker threads that share the threads out;
   * 1 is one session in the calling thread. Default: one per thread (see onnx-lanes.ts), at
   * most DEFAULT_MAX_LANES, so that each lane still gets two of the 8 windows whole-image inference
   * sends per call.
   */
  readonly lanes?: number;
  /** Module loader; tests pass one that fails to simulate a missing runtime. Default: dynamic import. */
  readonly importRuntime?: () => Promise<unknown>;
}

export class OnnxProbabilityEngine implements ProbabilityEngine {
  private constructor(
    readonly name: string,
    readonly classes: number,
    private readonly lanes: readonly OnnxLane[],
    private readonly divisor: number,
  ) {}

  /** Builds the ONNX graph of `spec` with `weights` and opens its sessions. */
  static async load(spec: UNetSpec, weights: readonly NamedTensor[], options: OnnxEngineOptions = {}): Promise<OnnxProbabilityEngine> {
    // The engine's images are one-channel NHWC, which is byte-identical to the graph's NCHW input only then.
    if (spec.inChannels !== 1) throw new ModelInputError(`the ONNX engine takes one-channel images, the model has ${spec.inChannels}`);
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new ModelInputError(`threads must be a positive integer, got ${threads}`);
    const laneCount = options.lanes ?? Math.min(threads, DEFAULT_MAX_LANES);
    if (!Number.isInteger(laneCount) || laneCount < 1 || laneCount > threads) throw new ModelInputError(`lanes must be an integer from 1 to threads (${threads}), got ${laneCount}`);
    // Loaded here first so a missing runtime is reported the same way whatever the lane count.
    const ort = await importOrt(options.importRuntime);
    // Threads shared as evenly as can be, so that all of them are used.
    const laneThreads = sampleRanges(threads, laneCount).map(({ count }) => count);
    const lanes = await openLanes(ort, unetOnnxModel(spec, weights), laneThreads, spec.classes);
    const version = ort.env.versions.node ?? ort.env.versions.common;
    const name = `${ONNX_RUNTIME_MODULE} ${version} cpu, ${threads} thread${threads === 1 ? '' : 's'}${laneCount === 1 ? '' : ` in ${laneCount} lanes`}`;
    return new OnnxProbabilityEngine(name, spec.classes, lanes, 2 ** (spec.stages - 1));
  }

  async probabilities(images: Float32Array, n: number, size: number): Promise<Float32Array> {
    if (!Number.isInteger(n) || n < 1) throw new ModelInputError(`batch size must be a positive integer, got ${n}`);
    if (!Number.isInteger(size) || size < 1 || size % this.divisor !== 0) {
      throw new ModelInputError(`image size ${size} must be a positive multiple of 2^(stages-1) = ${this.divisor}`);
    }
    checkImages(images, n, size);
    if (this.lanes.length === 1) return this.lanes[0]!.run(images, n, size);
    const plane = size * size;
    const shares = sampleRanges(n, this.lanes.length).filter(({ count }) => count > 0);
    // Each lane gets a copy of its share, which moves to its thread without another copy.
    const results = await Promise.all(shares.map(({ first, count }, lane) => this.lanes[lane]!.run(images.slice(first * plane, (first + count) * plane), count, size)));
    if (results.length === 1) return results[0]!;
    const out = new Float32Array(n * plane * this.classes);
    shares.forEach(({ first }, lane) => out.set(results[lane]!, first * plane * this.classes));
    return out;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.release()));
  }
}
