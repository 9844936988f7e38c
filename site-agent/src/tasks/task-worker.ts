/**
 * Worker-thread side of a site task: loads the site's cases and trains, fine-tunes, scores or
 * profiles them (training and prediction in shared's own worker threads). The agent's event loop,
 * and with it the socket and heartbeats, stays free whatever this thread does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendRequest } from '@lgefed/shared/engine/index';
import { loadDataset } from '@lgefed/shared/imaging/dataset';
import { modelId } from '@lgefed/shared/model/io';
import type { Case } from '@lgefed/shared/types';
import { evaluateModel } from '@lgefed/shared/workflows/evaluate';
import { finetuneModel } from '@lgefed/shared/workflows/finetune';
import type { LoadedModel, TrainingRecord } from '@lgefed/shared/workflows/model-files';
import { selectCases } from '@lgefed/shared/workflows/split';
import { caseSelection } from '../assignment.js';
import { trainSegmentation } from '@lgefed/shared/workflows/train';
import type { TrainingProgress } from '@lgefed/shared/model/train-protocol';
import { releaseIntensityHistogram } from '../privacy/histogram-release.js';
import type { TestTimePasses } from '@lgefed/shared/model/test-time-scales';
import type { DatasetInput, EvaluateInput, FinetuneInput, FromTaskWorker, HarmonisationInput, ScoredCases, TaskInput, TaskOutput, TrainInput } from './task-protocol.js';

/** The training functions' default when the coordinator names no preset. */
const DEFAULT_AUGMENTATION = 'paper';

const post = (message: FromTaskWorker) => parentPort!.postMessage(message);
const seconds = (from: number, to = performance.now()) => (to - from) / 1000;
const backendOf = (input: { backend?: string }) => (input.backend ? { backend: input.backend as BackendRequest } : {});

/** Tells the site's log when training stalled on several engine threads and went on on one. */
function logStallRestart(record: TrainingRecord): void {
  const restart = record.stallRestart;
  if (!restart) return;
  post({
    type: 'log',
    line:
      `training stalled after ${restart.iteration} iteration(s) on ${restart.threads} wasm threads (${Math.round(restart.silentSeconds)} s silent` +
      `${restart.kernel ? `, inside ${restart.kernel}` : ''}) and went on from iteration ${restart.resumedAt} on one thread; LGEFED_THREADS=1 avoids the stall`,
  });
}

async function loadCases(input: DatasetInput, ids?: readonly string[]): Promise<Case[]> {
  const dataset = await loadDataset(input.datasetPath, { layout: input.layout, ...(input.maxDecodedBytes !== undefined ? { maxDecodedBytes: input.maxDecodedBytes } : {}) });
  if (!ids) return dataset.cases;
  const wanted = new Set(ids);
  return dataset.cases.filter((c) => wanted.has(c.id) && c.label);
}

/** Mean loss per epoch of `perEpoch` iterations (a last partial epoch averaged over what ran). */
function epochMeans(losses: readonly number[], perEpoch: number): number[] {
  return Array.from({ length: Math.ceil(losses.length / perEpoch) }, (_, e) => {
    const part = losses.slice(e * perEpoch, (e + 1) * perEpoch);
    return part.reduce((a, b) => a + b, 0) / part.length;
  });
}

/** Training progress; `perEpoch` unknown (0) reports epoch 0. */
function reportTraining(p: TrainingProgress, perEpoch: number): void {
  post({ type: 'progress', stage: 'training', fraction: p.iteration / p.iterations, epoch: perEpoch > 0 ? Math.ceil(p.iteration / perEpoch) : 0, loss: p.loss });
}

/** Local training for `train` tasks: the shared training workflow, with the task's FedProx term. */
async function train(input: TrainInput): Promise<TaskOutput> {
  const started = performance.now();
  const { training } = input;
  const cases = selectCases(await loadCases(input, input.caseIds), caseSelection(training), training.seed);
  const loaded = performance.now();
  const result = await trainSegmentation({
    spec: input.spec,
    cases,
    augmentation: training.augmentation ?? DEFAULT_AUGMENTATION,
    batchSize: training.batchSize,
    ...(training.epochs !== undefined ? { epochs: training.epochs } : { iterations: training.iterations! }),
    learningRate: training.learningRate,
    seed: training.seed,
    proximalMu: training.proximalMu,
    ...(input.initialWeights ? { initialWeights: input.initialWeights } : {}),
    ...backendOf(input),
    onLog: () => undefined,
    // With epochs given, the planned iterations are whole epochs; with iterations, epochs are not reported.
    onProgress: (p) => reportTraining(p, training.epochs !== undefined ? p.iterations / training.epochs : 0),
  });
  logStallRestart(result.record);
  return { kind: 'train', weights: result.weights, epochLosses: epochMeans(result.losses, result.iterationsPerEpoch), casesUsed: cases.length, dataLoadS: seconds(started, loaded), computeS: seconds(loaded) };
}

/** Scores `model` on labelled cases; the refs are positions in the list, never case ids. */
async function score(model: LoadedModel, cases: readonly Case[], input: { backend?: string; inference: TestTimePasses }, stage: string): Promise<ScoredCases> {
  const report = await evaluateModel({
    model,
    cases,
    mirror: input.inference.mirror,
    ...(input.inference.scales ? { scales: input.inference.scales } : {}),
    ...backendOf(input),
    onLog: () => undefined,
    onCase: (_, done, total) => post({ type: 'progress', stage, fraction: done / total, epoch: 0, loss: 0 }),
  });
  return report.cases.map((c, i) => ({ ref: `case-${i + 1}`, scores: c.scores }));
}

async function evaluate(input: EvaluateInput): Promise<TaskOutput> {
  const started = performance.now();
  const cases = await loadCases(input, input.caseIds);
  const loaded = performance.now();
  const model: LoadedModel = { spec: input.spec, weights: input.weights, id: modelId(input.spec, input.weights) };
  return { kind: 'evaluate', cases: await score(model, cases, input, 'evaluating'), dataLoadS: seconds(started, loaded), computeS: seconds(loaded) };
}

/** One fine-tune variant: train (from the pretrained weights or from scratch), then score on the test split. */
async function finetune(input: FinetuneInput): Promise<TaskOutput> {
  const started = performance.now();
  const { training } = input;
  const [trainCases, testCases] = [await loadCases(input, input.caseIds), await loadCases(input, input.testCaseIds)];
  const loaded = performance.now();
  const start = input.initialWeights ? { spec: input.spec, weights: input.initialWeights, id: modelId(input.spec, input.initialWeights) } : { scratch: input.spec };
  const result = await finetuneModel({
    start,
    cases: trainCases,
    selection: { fraction: training.dataFraction },
    ...(input.freeze?.trainEncoderBlocks !== undefined ? { trainEncoderBlocks: input.freeze.trainEncoderBlocks } : {}),
    ...(input.freeze?.trainDecoderBlocks !== undefined ? { trainDecoderBlocks: input.freeze.trainDecoderBlocks } : {}),
    augmentation: training.augmentation ?? DEFAULT_AUGMENTATION,
    batchSize: training.batchSize,
    ...(training.epochs !== undefined ? { epochs: training.epochs } : { iterations: training.iterations! }),
    learningRate: training.learningRate,
    seed: training.seed,
    ...backendOf(input),
    onLog: () => undefined,
    onProgress: (p) => reportTraining(p, 0),
  });
  logStallRestart(result.record);
  const tuned: LoadedModel = { spec: result.spec, weights: result.weights, id: result.modelId, training: result.record };
  const cases = await score(tuned, testCases, input, 'evaluating');
  // By epochs: one point per epoch; by iterations: one per iteration.
  const perEpoch = training.epochs !== undefined ? Math.max(1, Math.round(result.losses.length / training.epochs)) : 1;
  return {
    kind: 'finetune',
    casesUsed: result.usedCases.length,
    trainedBlocks: result.trainedBlocks,
    epochLosses: epochMeans(result.losses, perEpoch),
    cases,
    dataLoadS: seconds(started, loaded),
    computeS: seconds(loaded),
  };
}

/** The DP intensity report over every image of the dataset, labelled or not. */
async function harmonisationCheck(input: HarmonisationInput): Promise<TaskOutput> {
  const started = performance.now();
  const cases = await loadCases(input);
  const loaded = performance.now();
  const report = releaseIntensityHistogram(
    cases.map((c) => c.image.data),
    input.reference,
    input.epsilon,
  );
  return { kind: 'harmonisation-check', report, imagesProfiled: cases.length, dataLoadS: seconds(started, loaded), computeS: seconds(loaded) };
}

function run(input: TaskInput): Promise<TaskOutput> {
  switch (input.kind) {
    case 'train':
      return train(input);
    case 'evaluate':
      return evaluate(input);
    case 'finetune':
      return finetune(input);
    case 'harmonisation-check':
      return harmonisationCheck(input);
  }
}

run(workerData as TaskInput).then(
  (output) => post({ type: 'done', output }),
  (err: Error) => post({ type: 'error', name: err.name, message: err.message }),
);
