/**
 * Model directories as workflows read and write them: the model module's files (spec.json +
 * weights.bin, float32 or float16) plus `training.json`, the record of how the model was made,
 * which inference reads back (the spacing the model works at).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromFloat16, toFloat16 } from '@lgefed/protocol';
import { loadModel, saveModel, type ModelFiles, type StorageDType } from '../model/io.js';
import type { EarlyStoppingOutcome } from '../model/early-stopping.js';
import type { LearningRateSchedule } from '../model/lr-schedule.js';
import type { StallRestart } from '../model/train.js';
import type { UNetSpec } from '../model/spec.js';
import type { NamedTensor } from '../model/weights.js';
import { WorkflowError } from './errors.js';

export const TRAINING_RECORD_FILE = 'training.json';

/** What a model directory says about how it was trained. */
export interface TrainingRecord {
  /** In-plane spacing (mm) the model was trained at; inference resamples to it. */
  readonly spacing: readonly [number, number];
  readonly augmentation: string;
  readonly iterations: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Absent = constant rate. */
  readonly learningRateSchedule?: LearningRateSchedule;
  readonly seed: number;
  readonly seconds: number;
  readonly backend: string;
  readonly trainCases: readonly string[];
  readonly freeze?: { readonly trainEncoderBlocks?: number; readonly trainDecoderBlocks?: number };
  /** Model id of the weights fine-tuning started from. */
  readonly startedFrom?: string;
  /** Present when training stopped on held-out slices: which iteration's weights were kept, and why. */
  readonly earlyStopping?: EarlyStoppingRecord;
  /** Present when the engine stalled on several wasm threads and training went on on one. */
  readonly stallRestart?: StallRestart;
  /** Anything else the caller wants kept (validation scores, data source). */
  readonly notes?: Record<string, unknown>;
}

export interface EarlyStoppingRecord extends EarlyStoppingOutcome {
  readonly heldOutSlices: number;
  readonly every: number;
  readonly patience: number;
}

export interface LoadedModel extends ModelFiles {
  readonly training?: TrainingRecord;
}

/** The weights a float16 file will hold: each value rounded to half precision and back. */
export function roundToFloat16(weights: readonly NamedTensor[]): NamedTensor[] {
  return weights.map((t) => ({ ...t, data: fromFloat16(toFloat16(t.data)) }));
}

/** Saves a model directory with its training record; returns the model id (of the stored values). */
export async function saveModelDirectory(
  directory: string,
  spec: UNetSpec,
  weights: readonly NamedTensor[],
  options: { readonly dtype?: StorageDType; readonly training?: TrainingRecord } = {},
): Promise<string> {
  const id = await saveModel(directory, spec, weights, { dtype: options.dtype ?? 'float32' });
  if (options.training) await writeFile(join(directory, TRAINING_RECORD_FILE), `${JSON.stringify(options.training, null, 2)}\n`);
  return id;
}

/** Loads and verifies a model directory, with its training record when present. */
export async function loadModelDirectory(directory: string): Promise<LoadedModel> {
  let files: ModelFiles;
  try {
    files = await loadModel(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).name === 'ModelFileError' && /cannot read/.test((error as Error).message)) {
      throw new WorkflowError(`no model at ${directory} (${(error as Error).message})`);
    }
    throw error;
  }
  let text: string | undefined;
  try {
    text = await readFile(join(directory, TRAINING_RECORD_FILE), 'utf8');
  } catch {
    return files;
  }
  try {
    return { ...files, training: JSON.parse(text) as TrainingRecord };
  } catch (error) {
    throw new WorkflowError(`${join(directory, TRAINING_RECORD_FILE)} is not valid JSON: ${(error as Error).message}`);
  }
}
