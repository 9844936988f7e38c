/**
 * `Predictor`: a model loaded in a worker thread, so whole-volume inference never blocks the
 * caller's event loop. Requests are answered in order; close() ends the worker.
 */
import { Worker } from 'node:worker_threads';
import type { BackendRequest } from '../engine/index.js';
import type { InferenceRequest } from './inference-choice.js';
import type { ImageVolume, LabelVolume } from '../types.js';
import type { PredictOptions } from './predict.js';
import type { PredictorReply, PredictorRequest } from './predict-protocol.js';
import type { UNetSpec } from './spec.js';
import { checkWeights, cloneWeights, type NamedTensor } from './weights.js';

export interface PredictorOptions {
  /** onnxruntime where it loads (default), or tfjs. */
  readonly inference?: InferenceRequest;
  /** A tfjs backend; naming one picks tfjs over onnxruntime. */
  readonly backend?: BackendRequest;
  readonly threads?: number;
  /** The engine's backend choice line; default stderr. */
  readonly onLog?: (line: string) => void;
}

/** A failure reported from the prediction worker, with the worker's error name. */
export class PredictionError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

type Pending = { resolve: (reply: PredictorReply) => void; reject: (error: Error) => void };

export class Predictor {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly worker: Worker,
    private readonly onLog: (line: string) => void,
  ) {
    worker.on('message', (reply: PredictorReply) => {
      if (reply.type === 'log') return this.onLog(reply.line);
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.type === 'failed') waiter?.reject(new PredictionError(reply.name, reply.message));
      else waiter?.resolve(reply);
    });
    const failAll = (error: Error): void => {
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`predictor worker exited with code ${code}`)));
  }

  /** Starts a worker with the model; resolves once it is ready, with the engine it runs on. */
  static async start(spec: UNetSpec, weights: readonly NamedTensor[], options: PredictorOptions = {}): Promise<{ predictor: Predictor; engine: string }> {
    const copies = cloneWeights(checkWeights(spec, weights));
    const worker = new Worker(new URL('./predict-worker.js', import.meta.url));
    const predictor = new Predictor(worker, options.onLog ?? ((line) => process.stderr.write(`${line}\n`)));
    try {
      const reply = await predictor.request(
        {
          type: 'load',
          id: predictor.nextId++,
          spec,
          weights: copies,
          ...(options.inference ? { inference: options.inference } : {}),
          ...(options.backend ? { backend: options.backend } : {}),
          ...(options.threads ? { threads: options.threads } : {}),
        },
        copies.map((t) => t.data.buffer as ArrayBuffer),
      );
      return { predictor, engine: (reply as Extract<PredictorReply, { type: 'loaded' }>).engine };
    } catch (error) {
      await worker.terminate();
      throw error;
    }
  }

  /** Label volume on the image's grid (see predictVolume). The image is copied, not transferred. */
  async predict(image: ImageVolume, options: PredictOptions = {}): Promise<LabelVolume> {
    const reply = await this.request({ type: 'predict', id: this.nextId++, image, options });
    return (reply as Extract<PredictorReply, { type: 'predicted' }>).label;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private request(message: PredictorRequest, transfer: ArrayBuffer[] = []): Promise<PredictorReply> {
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }
}
