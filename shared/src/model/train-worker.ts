/**
 * Worker-thread side of `trainModel`: builds the network on the requested backend, asks the
 * caller for batches one iteration ahead, trains, reports progress and writes checkpoints.
 */
import { parentPort } from 'node:worker_threads';
import { join } from 'node:path';
import { initEngine } from '../engine/index.js';
import { hangIfFailpoint } from '../engine/hang-failpoint.js';
import { trackKernels } from '../engine/kernel-tracker.js';
import type { Batch } from './batches.js';
import { saveCheckpoint } from './checkpoint.js';
import { EarlyStoppingMonitor } from './early-stopping.js';
import { scheduledLearningRate } from './lr-schedule.js';
import type { FromWorker, ToWorker, WorkerTrainOptions } from './train-protocol.js';
import { UNetTrainer } from './trainer.js';
import { UNet } from './unet.js';
import { initialWeights, type NamedTensor } from './weights.js';

if (!parentPort) throw new Error('train-worker must run as a worker thread');
const port = parentPort;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

class TrainingCancelled extends Error {
  override readonly name = 'TrainingCancelled';
}

const pendingBatches = new Map<number, { resolve: (b: Batch) => void; reject: (e: Error) => void }>();
const arrivedBatches = new Map<number, Batch | Error>();
let cancelled = false;

function requestBatch(iteration: number): void {
  post({ type: 'need-batch', iteration });
}

function awaitBatch(iteration: number): Promise<Batch> {
  const arrived = arrivedBatches.get(iteration);
  if (arrived !== undefined) {
    arrivedBatches.delete(iteration);
    return arrived instanceof Error ? Promise.reject(arrived) : Promise.resolve(arrived);
  }
  return new Promise((resolve, reject) => pendingBatches.set(iteration, { resolve, reject }));
}

function deliver(iteration: number, value: Batch | Error): void {
  const waiter = pendingBatches.get(iteration);
  if (!waiter) {
    arrivedBatches.set(iteration, value);
    return;
  }
  pendingBatches.delete(iteration);
  if (value instanceof Error) waiter.reject(value);
  else waiter.resolve(value);
}

function transferList(weights: readonly NamedTensor[]): ArrayBuffer[] {
  return weights.map((t) => t.data.buffer as ArrayBuffer);
}

async function train(options: WorkerTrainOptions): Promise<void> {
  const engine = await initEngine({
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
    log: (line) => post({ type: 'log', line }),
  });
  hangIfFailpoint('start', engine);
  post({ type: 'engine', backend: engine.backend, threads: engine.threads });
  if (options.kernelSlot) post({ type: 'kernels', names: trackKernels(options.kernelSlot) });
  const model = new UNet(options.spec, options.initialWeights ?? initialWeights(options.spec, options.seed));
  const trainer = new UNetTrainer(model, { learningRate: options.learningRate, freeze: options.freeze, proximalMu: options.proximalMu });
  const plan = { iterations: options.iterations, learningRate: options.learningRate, learningRateSchedule: options.learningRateSchedule ?? 'constant', seed: options.seed } as const;
  const checkpoint = async (done: number): Promise<void> => {
    const directory = join(options.checkpointDir!, 'latest');
    const modelId = await saveCheckpoint(directory, options.spec, await model.exportWeights(), plan, { iteration: done, optimizer: await trainer.exportOptimizerState() });
    post({ type: 'checkpoint', iteration: done, directory, modelId });
  };
  const first = options.resume?.iteration ?? 0;
  if (options.resume) trainer.importOptimizerState(options.resume.optimizer);
  const losses: number[] = [];
  let slices = 0;
  const started = performance.now();
  const early = options.earlyStopping;
  const monitor = early && new EarlyStoppingMonitor(early.patience);
  let bestWeights: NamedTensor[] | undefined;
  let stoppedEarly = false;
  /** Scores the held-out slices; keeps the weights when they are the best so far. */
  const check = async (done: number): Promise<{ loss: number; stop: boolean }> => {
    const loss = await trainer.heldOutLoss(early!.heldOut);
    const { improved, stop } = monitor!.record(done, loss);
    if (improved) bestWeights = await model.exportWeights();
    return { loss, stop };
  };
  try {
    if (early) await check(first);
    requestBatch(first);
    for (let iteration = first; iteration < options.iterations && !cancelled && !stoppedEarly; iteration++) {
      let batch: Batch;
      try {
        batch = await awaitBatch(iteration);
      } catch (error) {
        if (error instanceof TrainingCancelled) break;
        throw error;
      }
      // Ask for the next batch before training, so the caller prepares it while we compute.
      if (iteration + 1 < options.iterations) requestBatch(iteration + 1);
      hangIfFailpoint(iteration, engine);
      trainer.setLearningRate(scheduledLearningRate(options.learningRateSchedule ?? 'constant', options.learningRate, iteration, options.iterations));
      const loss = await trainer.step(batch);
      losses.push(loss);
      slices += batch.count;
      const elapsed = (performance.now() - started) / 1000;
      const done = iteration + 1;
      const checked = early && (done % early.every === 0 || done === options.iterations) ? await check(done) : undefined;
      if (checked?.stop) stoppedEarly = true;
      post({
        type: 'progress',
        progress: {
          iteration: done,
          iterations: options.iterations,
          loss,
          slicesPerSecond: slices / elapsed,
          etaSeconds: (elapsed / (done - first)) * (options.iterations - done),
          ...(checked ? { heldOutLoss: checked.loss } : {}),
        },
      });
      if (options.checkpointDir && options.checkpointEvery && done % options.checkpointEvery === 0 && done < options.iterations) await checkpoint(done);
      if (options.snapshotEvery && done % options.snapshotEvery === 0) {
        const weights = await model.exportWeights();
        post({ type: 'snapshot', iteration: done, weights }, transferList(weights));
      }
    }
    // A run stopped early (time limit, cancel) leaves a checkpoint to resume from.
    if (cancelled && options.checkpointDir && losses.length > 0) await checkpoint(first + losses.length);
    const weights = bestWeights ?? (await model.exportWeights());
    post(
      {
        type: 'done',
        weights,
        losses,
        backend: engine.backend,
        ...(cancelled ? { cancelledAt: losses.length } : {}),
        ...(monitor ? { earlyStopping: monitor.outcome(stoppedEarly) } : {}),
      },
      transferList(weights),
    );
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'start':
      train(message.options).catch((error: Error) => post({ type: 'error', name: error.name, message: error.message }));
      break;
    case 'batch':
      deliver(message.iteration, message.batch);
      break;
    case 'batch-failed':
      deliver(message.iteration, new Error(`batch ${message.iteration}: ${message.message}`));
      break;
    case 'cancel':
      cancelled = true;
      // A step waiting for a batch that will never come must still end.
      for (const [iteration] of pendingBatches) deliver(iteration, new TrainingCancelled());
      break;
  }
});
