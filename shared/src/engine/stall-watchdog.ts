/**
 * Notices a training worker that has stopped making progress: after its first step, no word from it
 * for `minimumSeconds` (or `medianSteps` median step times, when longer) is a stall; before it (the
 * engine starting, the first step compiling), `firstStepSeconds` of silence is. The worker keeps
 * the index of the engine kernel it is inside in `slot` (kernel-tracker.ts), so the stall can say
 * where it stopped. A wasm thread pool that stops waking has hung two-thread runs; this turns that
 * into an error instead of an endless wait.
 */
import type { Worker } from 'node:worker_threads';
import { resolveThreads, type EngineBackend } from './backend-selection.js';
import { kernelSlot, runningKernel } from './kernel-tracker.js';

/** Silence, in seconds, that the trainers call a stall unless told otherwise. */
export const DEFAULT_STALL_SECONDS = 300;

/**
 * Before the first step the allowance is this many times `minimumSeconds`: starting the engine and
 * compiling the first step take longer than a step, but a two-thread engine has hung there too.
 */
export const FIRST_STEP_FACTOR = 3;

export interface Stall {
  readonly silentSeconds: number;
  /** The engine kernel the worker was inside, if any. */
  readonly kernel: string | undefined;
}

export interface StallWatchdogOptions {
  readonly minimumSeconds: number;
  /** Silence before the first step that is a stall (default FIRST_STEP_FACTOR x minimumSeconds). */
  readonly firstStepSeconds?: number;
  /** A stall is also at least this many median step times long (default 20). */
  readonly medianSteps?: number;
  readonly onStall: (stall: Stall) => void;
}

export class StallWatchdog {
  /** Send this to the worker for `trackKernels`. */
  readonly slot = kernelSlot();
  private kernelNames: readonly string[] = [];
  private lastHeard = performance.now();
  private lastStep: number | undefined;
  private readonly stepSeconds: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: StallWatchdogOptions) {
    if (!(options.minimumSeconds > 0)) throw new RangeError(`minimumSeconds must be positive, got ${options.minimumSeconds}`);
    if (options.firstStepSeconds !== undefined && !(options.firstStepSeconds > 0)) throw new RangeError(`firstStepSeconds must be positive, got ${options.firstStepSeconds}`);
    this.timer = setInterval(() => this.check(), Math.min(Math.min(options.minimumSeconds, options.firstStepSeconds ?? Infinity) * 250, 10_000));
  }

  /** The worker's kernel names by index, as `trackKernels` returned them. */
  kernels(names: readonly string[]): void {
    this.kernelNames = names;
  }

  /** Any message from the worker. */
  heard(): void {
    this.lastHeard = performance.now();
  }

  /** The worker finished a step (it has been heard, too); the step allowance applies from the first. */
  stepped(): void {
    this.heard();
    if (this.lastStep !== undefined) this.stepSeconds.push((this.lastHeard - this.lastStep) / 1000);
    this.lastStep = this.lastHeard;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const silentSeconds = (performance.now() - this.lastHeard) / 1000;
    const allowance =
      this.lastStep === undefined
        ? (this.options.firstStepSeconds ?? FIRST_STEP_FACTOR * this.options.minimumSeconds)
        : Math.max(this.options.minimumSeconds, (this.options.medianSteps ?? 20) * median(this.stepSeconds));
    if (silentSeconds < allowance) return;
    this.stop();
    this.options.onStall({ silentSeconds, kernel: runningKernel(this.slot, this.kernelNames) });
  }
}

/** What a stall report says about where the engine stopped. */
export function stalledAt(kernel: string | undefined): string {
  return kernel === undefined
    ? 'no kernel is running'
    : `the engine is inside kernel ${kernel} (a wasm thread pool that stops waking has been seen with 2 threads; LGEFED_THREADS=1 avoids it)`;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The engine a training worker reported it started. */
export interface StartedEngine {
  readonly backend: EngineBackend;
  readonly threads: number;
}

/**
 * The wasm threads a stalled worker ran on (1 for a native backend); one that hung while its engine
 * started has not said, so the threads asked for count. Several: the known hang, which one avoids.
 */
export function stalledOnThreads(engine: StartedEngine | undefined, requested: number | undefined): number {
  if (!engine) return resolveThreads(requested);
  return engine.backend === 'wasm' ? engine.threads : 1;
}

/** Ends a worker; a stalled one may not end promptly, so neither a retry nor the process waits for it. */
export async function endWorker(worker: Worker, stalled: boolean): Promise<void> {
  if (!stalled) {
    await worker.terminate();
    return;
  }
  worker.unref();
  void worker.terminate();
}
