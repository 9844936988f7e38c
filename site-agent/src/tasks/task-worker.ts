/**
 * Worker-thread side of a site task: loads the site's cases, preprocesses them, trains (through
 * shared/model's own training worker) or predicts and scores. The agent's event loop, and with it
 * the socket and heartbeats, stays free whatever this thread does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initEngine } from '@lgefed/shared/engine/index';
import { loadDataset } from '@lgefed/shared/imaging/dataset';
import { preprocessCase } from '@lgefed/shared/imaging/preprocess';
import { evaluateCase } from '@lgefed/shared/metrics/evaluate';
import { predictVolume } from '@lgefed/shared/model/predict';
import { trainModel } from '@lgefed/shared/model/train';
import { UNet } from '@lgefed/shared/model/unet';
import type { BackendRequest } from '@lgefed/shared/engine/index';
import { createHash } from 'node:crypto';
import type { EvaluateInput, FromTaskWorker, TaskInput, TrainInput } from './task-protocol.js';

const post = (message: FromTaskWorker) => parentPort!.postMessage(message);

async function loadCases(input: TaskInput) {
  const wanted = new Set(input.caseIds);
  const dataset = await loadDataset(input.datasetPath, { layout: input.layout });
  return dataset.cases.filter((c) => wanted.has(c.id) && c.label);
}

/** A seeded choice of ⌈fraction·n⌉ (at least one) cases, by case id. */
function chooseFraction<T extends { id: string }>(cases: T[], fraction: number, seed: number): T[] {
  if (fraction >= 1) return cases;
  const rank = (id: string) => createHash('sha256').update(`${seed}\u0000${id}`).digest('hex');
  const count = Math.max(1, Math.ceil(fraction * cases.length));
  return [...cases].sort((a, b) => (rank(a.id) < rank(b.id) ? -1 : 1)).slice(0, count);
}

async function train(input: TrainInput): Promise<void> {
  const started = performance.now();
  const cases = chooseFraction(await loadCases(input), input.dataFraction, input.seed);
  if (cases.length === 0) throw new Error('no labelled training cases');
  const slices = cases.flatMap((c) => preprocessCase(c, { size: input.spec.inputSize }).slices);
  const loaded = performance.now();
  const perEpoch = Math.ceil(slices.length / input.batchSize);
  const losses: number[] = [];
  const result = await trainModel({
    spec: input.spec,
    ...(input.initialWeights ? { initialWeights: input.initialWeights } : {}),
    data: slices,
    batchSize: input.batchSize,
    epochs: input.epochs,
    learningRate: input.learningRate,
    seed: input.seed,
    ...(input.backend ? { backend: input.backend as BackendRequest } : {}),
    onLog: () => undefined,
    onProgress: (p) => {
      losses.push(p.loss);
      post({ type: 'progress', stage: 'training', fraction: p.iteration / p.iterations, epoch: Math.ceil(p.iteration / perEpoch), loss: p.loss });
    },
  });
  const epochLosses = Array.from({ length: input.epochs }, (_, e) => {
    const part = result.losses.slice(e * perEpoch, (e + 1) * perEpoch);
    return part.reduce((a, b) => a + b, 0) / Math.max(1, part.length);
  });
  post({ type: 'done', output: { kind: 'train', weights: result.weights, epochLosses, casesUsed: cases.length, dataLoadS: (loaded - started) / 1000, computeS: (performance.now() - loaded) / 1000 } });
}

async function evaluate(input: EvaluateInput): Promise<void> {
  const started = performance.now();
  await initEngine({ ...(input.backend ? { backend: input.backend as BackendRequest } : {}), log: () => undefined });
  const cases = await loadCases(input);
  const loaded = performance.now();
  const model = new UNet(input.spec, input.weights);
  const scored = [];
  try {
    for (const [i, c] of cases.entries()) {
      const predicted = await predictVolume(model, c.image);
      scored.push({ ref: `case-${i + 1}`, scores: evaluateCase(predicted, c.label!) });
      post({ type: 'progress', stage: 'evaluating', fraction: (i + 1) / cases.length, epoch: 0, loss: 0 });
    }
  } finally {
    model.dispose();
  }
  post({ type: 'done', output: { kind: 'evaluate', cases: scored, dataLoadS: (loaded - started) / 1000, computeS: (performance.now() - loaded) / 1000 } });
}

const input = workerData as TaskInput;
(input.kind === 'train' ? train(input) : evaluate(input)).catch((err: Error) => post({ type: 'error', name: err.name, message: err.message }));
