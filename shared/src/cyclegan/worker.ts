/**
 * Worker-thread side of the CycleGAN API: starts the engine's backend, then trains (patches drawn
 * here, seeded) or translates whole images with one generator.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine, parseBackendRequest, type EngineInfo } from '../engine/backend-selection.js';
import { hangIfFailpoint } from '../engine/hang-failpoint.js';
import { trackKernels } from '../engine/kernel-tracker.js';
import { translationDistance } from './distance.js';
import { CycleGanNetworks } from './networks.js';
import { PatchSampler, type GreyImage } from './patches.js';
import type { FromWorker, ToWorker, ValidationDistance, WorkerTrainRequest, WorkerTranslateRequest, WorkerValidation } from './protocol.js';
import { initialCycleGanWeights, type CycleGanSpec, type GeneratorName } from './spec.js';
import { learningRateAt } from './schedule.js';
import { CycleGanTrainer } from './trainer.js';

if (!parentPort) throw new Error('the CycleGAN worker must run as a worker thread');
const port = parentPort;
let cancelled = false;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function startEngine(backend: string | undefined, threads?: number): Promise<EngineInfo> {
  return initEngine({ ...(backend ? { backend: parseBackendRequest(backend) } : {}), ...(threads ? { threads } : {}), log: () => {} });
}

/** Edge-replicates an image up to sides divisible by `divisor` (the generator's downsamplings). */
function padToMultiple(img: GreyImage, divisor: number): { data: Float32Array; width: number; height: number } {
  const width = Math.ceil(img.width / divisor) * divisor;
  const height = Math.ceil(img.height / divisor) * divisor;
  if (width === img.width && height === img.height) return { data: img.image, width, height };
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(y, img.height - 1);
    for (let x = 0; x < width; x++) data[y * width + x] = img.image[sy * img.width + Math.min(x, img.width - 1)]!;
  }
  return { data, width, height };
}

/** Whole images through one generator as it is now, clipped to [0, 1]. */
async function translateWith(networks: CycleGanNetworks, spec: CycleGanSpec, generator: GeneratorName, images: readonly GreyImage[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const img of images) {
    const padded = padToMultiple(img, 2 ** spec.downsamplings);
    const result = tf.tidy(() => tf.clipByValue(networks.generate(generator, tf.tensor4d(padded.data, [1, padded.height, padded.width, 1])), 0, 1));
    const values = (await result.data()) as Float32Array;
    result.dispose();
    const cropped = new Float32Array(img.width * img.height);
    for (let y = 0; y < img.height; y++) cropped.set(values.subarray(y * padded.width, y * padded.width + img.width), y * img.width);
    out.push(cropped);
  }
  return out;
}

async function validationDistance(networks: CycleGanNetworks, spec: CycleGanSpec, validation: WorkerValidation): Promise<number> {
  const translated = await translateWith(networks, spec, 'toReference', validation.siteImages);
  return translationDistance(validation.siteImages, translated, validation.referenceHistogram);
}

async function train(request: WorkerTrainRequest): Promise<void> {
  const engine = await startEngine(request.backend, request.threads);
  hangIfFailpoint('start', engine);
  post({ type: 'engine', backend: engine.backend, threads: engine.threads });
  if (request.kernelSlot) post({ type: 'kernels', names: trackKernels(request.kernelSlot) });
  const { spec, batchSize, iterations } = request;
  const networks = new CycleGanNetworks(spec, initialCycleGanWeights(spec, request.seed));
  const trainer = new CycleGanTrainer(networks, {
    learningRate: request.learningRate,
    cycleWeight: request.cycleWeight,
    identityWeight: request.identityWeight,
    imagePool: request.imagePool,
    seed: request.seed,
  });
  // Separate streams so the site's patches do not depend on how many reference images there are.
  const sitePatches = new PatchSampler(request.siteImages, spec.patchSize, request.seed * 2 + 1);
  const referencePatches = new PatchSampler(request.referenceImages, spec.patchSize, request.seed * 2 + 2);
  const losses = { generator: [] as number[], cycle: [] as number[], discriminator: [] as number[] };
  const distances: ValidationDistance[] = [];
  const { validation } = request;
  let stepMs = 0;
  const validate = async (iteration: number): Promise<number | undefined> => {
    if (!validation) return undefined;
    const wasserstein1 = await validationDistance(networks, spec, validation);
    distances.push({ iteration, wasserstein1 });
    return wasserstein1;
  };
  const shape: [number, number, number, number] = [batchSize, spec.patchSize, spec.patchSize, 1];
  try {
    await validate(0);
    const started = performance.now();
    for (let iteration = 0; iteration < iterations && !cancelled; iteration++) {
      hangIfFailpoint(iteration, engine);
      trainer.setLearningRate(learningRateAt(request.schedule, request.learningRate, iteration, iterations));
      const site = tf.tensor4d(sitePatches.sample(batchSize), shape);
      const reference = tf.tensor4d(referencePatches.sample(batchSize), shape);
      const begun = performance.now();
      const step = await trainer.step(site, reference).finally(() => tf.dispose([site, reference]));
      stepMs += performance.now() - begun;
      losses.generator.push(step.generator);
      losses.cycle.push(step.cycle);
      losses.discriminator.push(step.discriminator);
      const done = iteration + 1;
      const wasserstein1 = validation && (done % validation.every === 0 || done === iterations) ? await validate(done) : undefined;
      const elapsed = (performance.now() - started) / 1000;
      post({
        type: 'progress',
        progress: {
          iteration: done,
          iterations,
          generatorLoss: step.generator,
          cycleLoss: step.cycle,
          discriminatorLoss: step.discriminator,
          etaSeconds: (elapsed / done) * (iterations - done),
          ...(wasserstein1 === undefined ? {} : { wasserstein1 }),
        },
      });
      // Yield so a cancel message can arrive between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const weights = await networks.exportWeights();
    post(
      {
        type: 'trained',
        weights,
        generatorLosses: losses.generator,
        cycleLosses: losses.cycle,
        discriminatorLosses: losses.discriminator,
        distances,
        stepSeconds: stepMs / 1000,
        backend: tf.getBackend(),
        ...(cancelled ? { cancelledAt: losses.generator.length } : {}),
      },
      weights.map((w) => w.data.buffer as ArrayBuffer),
    );
  } finally {
    trainer.dispose();
    networks.dispose();
  }
}

async function translate(request: WorkerTranslateRequest): Promise<void> {
  await startEngine(request.backend);
  const { spec } = request;
  const networks = new CycleGanNetworks(spec, request.weights);
  try {
    const out = await translateWith(networks, spec, request.generator, request.images);
    post({ type: 'translated', images: out, backend: tf.getBackend() }, out.map((a) => a.buffer as ArrayBuffer));
  } finally {
    networks.dispose();
  }
}

port.on('message', (message: ToWorker) => {
  const fail = (error: Error): void => post({ type: 'error', name: error.name, message: error.message });
  switch (message.type) {
    case 'train':
      train(message.request).catch(fail);
      break;
    case 'translate':
      translate(message.request).catch(fail);
      break;
    case 'cancel':
      cancelled = true;
      break;
  }
});
