import { Worker } from 'node:worker_threads';
import type { FromTaskWorker, OutputOf, TaskInput } from './task-protocol.js';

export type TaskProgress = Extract<FromTaskWorker, { type: 'progress' }>;

/** A task worker's failure, with the worker's error name (e.g. TrainingError, DataError). */
export class TaskFailure extends Error {
  constructor(
    override readonly name: string,
    message: string,
    /** False when running it again cannot help (bad data, bad model). */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * A failure raised inside the task worker (reading data, training, a library): its text can hold
 * absolute paths, file contents or case ids, so it stays in the site's log (outbound-error.ts).
 */
export class WorkerFailure extends TaskFailure {}

/** Runs one task in a worker thread; aborting (deadline, shutdown) terminates the thread. `onLog` gets its lines for the site's log. */
export function runTask<I extends TaskInput>(input: I, onProgress: (p: TaskProgress) => void, signal: AbortSignal, onLog: (line: string) => void = () => undefined): Promise<OutputOf<I>> {
  type Out = OutputOf<I>;
  return new Promise<Out>((resolve, reject) => {
    if (signal.aborted) return reject(new TaskFailure('AbortError', String(signal.reason ?? 'aborted'), true));
    const worker = new Worker(new URL('./task-worker.js', import.meta.url), { workerData: input });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = () => settle(() => reject(new TaskFailure('AbortError', String(signal.reason ?? 'aborted'), true)));
    signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: FromTaskWorker) => {
      if (m.type === 'progress') onProgress(m);
      else if (m.type === 'log') onLog(m.line);
      else if (m.type === 'done') settle(() => resolve(m.output as Out));
      else settle(() => reject(new WorkerFailure(m.name, m.message, !/DataError|ModelInputError|WeightsError|ModelSpecError|WorkflowError|HarmonisationError|FreezeError|AugmentationError/.test(m.name))));
    });
    worker.on('error', (err) => settle(() => reject(new WorkerFailure(err.name, err.message, true))));
    worker.on('exit', (code) => settle(() => reject(new TaskFailure('WorkerExit', `task worker exited with code ${code}`, true))));
  });
}
