/**
 * A resumable training checkpoint: a model directory (float32 weights) that also holds Adam's state
 * (`optimizer.bin`, float32 moments, exact) and the run's plan and progress (`training-state.json`),
 * all written in one atomic step. Resuming continues the planned run exactly: the same weights,
 * moments, learning-rate schedule position and — batches being a function of (seed, iteration) —
 * the same next batches. A lite checkpoint is about 23 MB.
 *
 * A compact checkpoint (the form a run that spans sessions commits) keeps float16 weights and
 * bfloat16 moments: half the size (a lite one ~12 MB, a wider lite ~26 MB). Bfloat16 because
 * second moments (squared gradients, often below 1e-8) underflow float16; its 8-bit mantissa moves
 * each step's update by under 0.4 %. Resuming from it continues the same plan and batches, from
 * weights and moments that rounding has moved that little.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdamState } from './adam.js';
import { littleEndianBytes, loadModel, ModelFileError, saveModel, type ModelFiles, type StorageDType } from './io.js';
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
  /** Absent in checkpoints written before compact ones existed: float32. */
  readonly momentDtype?: MomentDType;
}

type MomentDType = 'float32' | 'bfloat16';
const MOMENT_BYTES: Record<MomentDType, number> = { float32: 4, bfloat16: 2 };

export interface CheckpointOptions {
  /** float16 weights and bfloat16 moments (default: float32, exact). */
  readonly compact?: boolean;
}

/** Round to nearest even on the upper 16 bits; finite inputs only (checkpoints refuse the others). */
function toBfloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

function fromBfloat16(halves: Uint16Array): Float32Array {
  const bits = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
  return new Float32Array(bits.buffer);
}

/** The bytes in a fresh, aligned buffer of their own (a Buffer from readFile may sit at any offset of a shared pool). */
function copyOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function momentBytes(values: Float32Array, dtype: MomentDType): Uint8Array {
  if (dtype === 'float32') return littleEndianBytes(values);
  const halves = toBfloat16(values);
  return new Uint8Array(halves.buffer);
}

export async function saveCheckpoint(directory: string, spec: UNetSpec, weights: readonly NamedTensor[], plan: TrainingPlan, state: TrainingState, options: CheckpointOptions = {}): Promise<string> {
  const { optimizer } = state;
  const momentDtype: MomentDType = options.compact ? 'bfloat16' : 'float32';
  const dtype: StorageDType = options.compact ? 'float16' : 'float32';
  const file: StateFile = {
    format: FORMAT,
    plan,
    iteration: state.iteration,
    beta1Power: optimizer.beta1Power,
    beta2Power: optimizer.beta2Power,
    moments: optimizer.moments.map((m) => ({ name: m.name, size: m.first.length })),
    momentDtype,
  };
  return saveModel(directory, spec, weights, {
    dtype,
    extraFiles: [
      { name: OPTIMIZER_FILE, data: optimizer.moments.flatMap((m) => [momentBytes(m.first, momentDtype), momentBytes(m.second, momentDtype)]) },
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
  const momentDtype = file.momentDtype ?? 'float32';
  if (!Object.hasOwn(MOMENT_BYTES, momentDtype)) throw new ModelFileError(`${directory}: unknown moment dtype ${JSON.stringify(momentDtype)}`);
  const bytes = await readFile(join(directory, OPTIMIZER_FILE));
  const values = file.moments.reduce((n, m) => n + 2 * m.size, 0);
  const width = MOMENT_BYTES[momentDtype];
  if (bytes.byteLength !== values * width) throw new ModelFileError(`${directory}: ${OPTIMIZER_FILE} has ${bytes.byteLength} bytes, the state describes ${values * width}`);
  const all = momentDtype === 'float32' ? new Float32Array(copyOf(bytes)) : fromBfloat16(new Uint16Array(copyOf(bytes)));
  let offset = 0;
  const take = (size: number): Float32Array => all.subarray(offset, (offset += size));
  const moments = file.moments.map(({ name, size }) => ({ name, first: take(size), second: take(size) }));
  if (!all.every(Number.isFinite)) throw new ModelFileError(`${directory}: optimiser state holds NaN or infinite values`);
  return { model, plan, state: { iteration: file.iteration, optimizer: { beta1Power: file.beta1Power, beta2Power: file.beta2Power, moments } } };
}

/** Rewrites the checkpoint in `from` as a compact one in `to` (see the module comment). Returns the model id. */
export async function compactCheckpoint(from: string, to: string): Promise<string> {
  const { model, plan, state } = await loadCheckpoint(from);
  return saveCheckpoint(to, model.spec, model.weights, plan, state, { compact: true });
}
