/**
 * A resumable training checkpoint: a model directory (float32 weights) that also holds Adam's state
 * (`optimizer.bin`, float32 moments, exact) and the run's plan and progress (`training-state.json`),
 * all written in one atomic step. Resuming continues the planned run exactly: the same weights,
 * moments, learning-rate schedule position and — batches being a function of (seed, iteration) —
 * the same next batches. A lite checkpoint is about 23 MB.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdamState } from './adam.js';
import { littleEndianBytes, loadModel, ModelFileError, saveModel, type ModelFiles } from './io.js';
import type { LearningRateSchedule } from './lr-schedule.js';
import type { UNetSpec } from './spec.js';
import type { NamedTensor } from './weights.js';

export const TRAINING_STATE_FILE = 'training-state.json';
export const OPTIMIZER_FILE = 'optimizer.bin';
const FORMAT = 'lgefed-checkpoint/1';

/** The run a checkpoint belongs to: resuming keeps all of it. */
export interface TrainingPlan {
  readonly iterations: number;
  readonly learningRate: number;
  readonly learningRateSchedule: LearningRateSchedule;
  readonly seed: number;
}

/** Where a run stood: iterations done and the optimiser's state then. */
export interface TrainingState {
  readonly iteration: number;
  readonly optimizer: AdamState;
}

export interface Checkpoint {
  readonly model: ModelFiles;
  readonly plan: TrainingPlan;
  readonly state: TrainingState;
}

interface StateFile {
  readonly format: typeof FORMAT;
  readonly plan: TrainingPlan;
  readonly iteration: number;
  readonly beta1Power: number;
  readonly beta2Power: number;
  /** Moments in optimizer.bin order: each parameter's first then second moment. */
  readonly moments: { readonly name: string; readonly size: number }[];
}

export async function saveCheckpoint(directory: string, spec: UNetSpec, weights: readonly NamedTensor[], plan: TrainingPlan, state: TrainingState): Promise<string> {
  const { optimizer } = state;
  const file: StateFile = {
    format: FORMAT,
    plan,
    iteration: state.iteration,
    beta1Power: optimizer.beta1Power,
    beta2Power: optimizer.beta2Power,
    moments: optimizer.moments.map((m) => ({ name: m.name, size: m.first.length })),
  };
  return saveModel(directory, spec, weights, {
    extraFiles: [
      { name: OPTIMIZER_FILE, data: optimizer.moments.flatMap((m) => [littleEndianBytes(m.first), littleEndianBytes(m.second)]) },
      { name: TRAINING_STATE_FILE, data: `${JSON.stringify(file, null, 2)}\n` },
    ],
  });
}

/** Reads and checks a checkpoint written by saveCheckpoint. */
export async function loadCheckpoint(directory: string): Promise<Checkpoint> {
  const model = await loadModel(directory);
  let file: StateFile;
  try {
    file = JSON.parse(await readFile(join(directory, TRAINING_STATE_FILE), 'utf8')) as StateFile;
  } catch (error) {
    throw new ModelFileError(`${directory} is not a resumable checkpoint: ${(error as Error).message}`);
  }
  if (file.format !== FORMAT) throw new ModelFileError(`${directory}: unknown checkpoint format ${JSON.stringify(file.format)}`);
  const { plan } = file;
  if (!(Number.isInteger(file.iteration) && file.iteration >= 0 && file.iteration <= plan.iterations)) throw new ModelFileError(`${directory}: iteration ${file.iteration} outside the planned ${plan.iterations}`);
  const bytes = await readFile(join(directory, OPTIMIZER_FILE));
  const values = file.moments.reduce((n, m) => n + 2 * m.size, 0);
  if (bytes.byteLength !== values * 4) throw new ModelFileError(`${directory}: ${OPTIMIZER_FILE} has ${bytes.byteLength} bytes, the state describes ${values * 4}`);
  const all = new Float32Array(values);
  new Uint8Array(all.buffer).set(bytes);
  let offset = 0;
  const take = (size: number): Float32Array => all.subarray(offset, (offset += size));
  const moments = file.moments.map(({ name, size }) => ({ name, first: take(size), second: take(size) }));
  if (!all.every(Number.isFinite)) throw new ModelFileError(`${directory}: optimiser state holds NaN or infinite values`);
  return { model, plan, state: { iteration: file.iteration, optimizer: { beta1Power: file.beta1Power, beta2Power: file.beta2Power, moments } } };
}
