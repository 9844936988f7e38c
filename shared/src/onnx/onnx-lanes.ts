/**
 * Lanes: independent onnxruntime sessions that each infer part of a batch. On the lite U-Net one
 * 2-thread session keeps its threads busy only part of the time (instance norms and layout
 * reorders between small convolutions run on one), so two 1-thread sessions side by side, each in
 * its own worker thread, infer 1.2x the slices per second of one 2-thread session (bench:train;
 * on the paper U-Net, whose large convolutions keep every thread busy, they gain nothing).
 */
import { Worker } from 'node:worker_threads';
import { openSession, OnnxUnavailableError, runSession, type OrtModule, type OrtSession } from './onnx-runtime.js';

/** A lane's worker thread failed or died. */
export class OnnxLaneError extends Error {
  override readonly name = 'OnnxLaneError';
}

export interface OnnxLane {
  /** Probabilities of n images (NHWC, `classes` per pixel); the lane may take over `images`' buffer. */
  run(images: Float32Array, n: number, size: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Runs not yet answered: a session is released only after them (released under a native run, it aborts the process). */
export class RunsInFlight {
  private readonly runs = new Set<Promise<void>>();

  track<T>(run: Promise<T>): Promise<T> {
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.runs.add(settled);
    void settled.then(() => this.runs.delete(settled));
    return run;
  }

  async settled(): Promise<void> {
    await Promise.all(this.runs);
  }
}

/** A session in the calling thread. */
export class SessionLane implements OnnxLane {
  private readonly inFlight = new RunsInFlight();

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    private readonly classes: number,
  ) {}

  static async open(ort: OrtModule, model: Uint8Array, threads: number, classes: number): Promise<SessionLane> {
    return new SessionLane(ort, await openSession(ort, model, threads), classes);
  }

  run(images: Float32Array, n: number, size: number): Promise<Float32Array> {
    return this.inFlight.track(runSession(this.ort, this.session, images, n, size, this.classes));
  }

  /** Closes the session once every run in flight has answered, as a worker lane does. */
  async release(): Promise<void> {
    await this.inFlight.settled();
    await this.session.release();
  }
}

/** What a lane worker is started with. */
export interface LaneWorkerData {
  readonly model: Uint8Array;
  readonly threads: number;
  readonly classes: number;
}
export type LaneRequest = { readonly id: number; readonly images: Float32Array; readonly n: number; readonly size: number } | 'release';
export type LaneReply =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string; readonly unavailable: boolean }
  | { readonly type: 'result'; readonly id: number; readonly data: Float32Array }
  | { readonly type: 'error'; readonly id: number; readonly message: string }
  | { readonly type: 'released' };

interface Pending {
  resolve(data: Float32Array): void;
  reject(error: Error): void;
}

/** A session in a worker thread of its own. */
export class WorkerLane implements OnnxLane {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private released: (() => void) | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: LaneReply) => this.hear(reply));
    worker.on('error', (error) => this.fail(new OnnxLaneError(`onnx lane failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => this.fail(new OnnxLaneError(`onnx lane exited (code ${code})`)));
    // An idle lane never keeps the process alive; a lane with work does (see run).
    worker.unref();
  }

  static async start(model: Uint8Array, threads: number, classes: number): Promise<WorkerLane> {
    const workerData: LaneWorkerData = { model, threads, classes };
    const worker = new Worker(new URL('./onnx-lane-worker.js', import.meta.url), { workerData });
    let stopListening = () => {};
    const first = await new Promise<LaneReply>((resolve, reject) => {
      const exited = (code: number) => reject(new OnnxLaneError(`onnx lane exited (code ${code}) before it was ready`));
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', exited);
      // Not removeAllListeners: Worker listens to its own listener changes to start its port.
      stopListening = () => worker.off('message', resolve).off('error', reject).off('exit', exited);
    })
      .catch(async (error: Error) => {
        await worker.terminate();
        throw error instanceof OnnxLaneError ? error : new OnnxLaneError(`onnx lane failed to start: ${error.message}`, { cause: error });
      })
      .finally(() => stopListening());
    if (first.type !== 'ready') {
      await worker.terminate();
      const message = first.type === 'failed' ? first.message : `unexpected first reply ${first.type}`;
      throw first.type === 'failed' && first.unavailable ? new OnnxUnavailableError(message) : new OnnxLaneError(`onnx lane failed to start: ${message}`);
    }
    return new WorkerLane(worker);
  }

  run(images: Float32Array, n: number, size: number): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      const request: LaneRequest = { id, images, n, size };
      // A lane's share is its own copy already (see OnnxProbabilityEngine), so it moves, not copies.
      this.worker.postMessage(request, images.byteOffset === 0 && images.length * 4 === images.buffer.byteLength ? [images.buffer as ArrayBuffer] : []);
    });
  }

  /** Closes the session once every run in flight has answered (the worker waits for them), and keeps the process alive until then. */
  async release(): Promise<void> {
    if (this.failure) return;
    const released = new Promise<void>((resolve) => (this.released = resolve));
    this.worker.ref();
    this.worker.postMessage('release' satisfies LaneRequest);
    await released;
    this.failure = new OnnxLaneError('onnx lane released');
    await this.worker.terminate();
  }

  private hear(reply: LaneReply): void {
    if (reply.type === 'released') {
      this.released?.();
      return;
    }
    if (reply.type !== 'result' && reply.type !== 'error') return;
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    // A lane being released stays referenced: its caller awaits the session's close.
    if (this.pending.size === 0 && !this.released) this.worker.unref();
    if (reply.type === 'result') waiting.resolve(reply.data);
    else waiting.reject(new OnnxLaneError(`onnx lane: ${reply.message}`));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
    this.released?.();
  }
}

/** Opens a session per lane, with that lane's threads: one lane runs in this thread, more in worker threads. */
export async function openLanes(ort: OrtModule, model: Uint8Array, laneThreads: readonly number[], classes: number): Promise<OnnxLane[]> {
  if (laneThreads.length === 1) return [await SessionLane.open(ort, model, laneThreads[0]!, classes)];
  const started = await Promise.allSettled(laneThreads.map((threads) => WorkerLane.start(model, threads, classes)));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.release() : undefined)));
    throw failed.reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<WorkerLane>).value);
}
