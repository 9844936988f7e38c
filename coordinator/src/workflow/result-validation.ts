import { createHash } from 'node:crypto';
import { assertSameBinning, validateHistogram, validateQuantileTable, type IntensityHistogram, type QuantileTable } from '@lgefed/shared/harmonise/index';
import { STRUCTURES } from '@lgefed/shared/types';
import { CoordinatorError } from '../errors.js';
import type { ModelStore, ParameterReader } from '../model-store.js';
import type { Json, TaskRecord } from '../store/jobs.js';
import { layoutProblem } from './architecture-layout.js';
import { asObject, type SpecObject } from './spec.js';
import type { EvaluateTaskPayload, FinetuneTaskPayload, HarmonisationCheckTaskPayload, TaskKind, TrainTaskPayload } from './task-payloads.js';
import { RELEASE_MECHANISM, TASK_KINDS } from './task-payloads.js';

/** A result as a site delivers it, before any check. */
export interface SiteResult {
  readonly resultId: string;
  readonly taskId: string;
  readonly metrics: Json;
  /** Weights the site uploaded to the model store for this task, if any. */
  readonly modelHash?: string;
  readonly numExamples: number;
}

/** Largest metrics object accepted, serialised: a harmonisation report is a few kB. */
export const MAX_METRICS_BYTES = 256 * 1024;
const MAX_DEPTH = 16;
const RESULT_ID = /^[A-Za-z0-9._:-]{1,200}$/;
const HASH = /^[0-9a-f]{64}$/;
/** Values scanned per read when checking uploaded weights for NaN/∞. */
const SCAN_CHUNK = 1 << 18;

const invalid = (message: string) => new CoordinatorError('invalid_argument', message);

/**
 * Checks the envelope of a delivered result: ids, counts and that `metrics` is plain JSON that
 * survives storage unchanged (no NaN/∞, which JSON would silently turn into null). A failure here
 * is a typed error to the sender and changes nothing stored.
 */
export function parseSiteResult(input: unknown): SiteResult {
  const r = asObject(input, 'result');
  const resultId = r['resultId'];
  const taskId = r['taskId'];
  const numExamples = r['numExamples'];
  const modelHash = r['modelHash'];
  if (typeof resultId !== 'string' || !RESULT_ID.test(resultId)) throw invalid(`resultId must be 1-200 characters of [A-Za-z0-9._:-]`);
  if (typeof taskId !== 'string' || taskId.length === 0) throw invalid('taskId must be a non-empty string');
  if (typeof numExamples !== 'number' || !Number.isInteger(numExamples) || numExamples < 0) throw invalid('numExamples must be a non-negative integer');
  if (modelHash !== undefined && (typeof modelHash !== 'string' || !HASH.test(modelHash))) throw invalid('modelHash must be a sha256 hex digest');
  const metrics = plainJson(r['metrics'], 'metrics', 0);
  const bytes = Buffer.byteLength(JSON.stringify(metrics), 'utf8');
  if (bytes > MAX_METRICS_BYTES) throw invalid(`metrics are ${bytes} bytes, at most ${MAX_METRICS_BYTES} are accepted`);
  return { resultId, taskId, metrics, numExamples, ...(modelHash === undefined ? {} : { modelHash }) };
}

function plainJson(value: unknown, path: string, depth: number): Json {
  if (depth > MAX_DEPTH) throw invalid(`${path}: nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`${path} is ${value}; metrics must be finite numbers`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => plainJson(v, `${path}[${i}]`, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) out[k] = plainJson(v, `${path}.${k}`, depth + 1);
    return out;
  }
  throw invalid(`${path} is not plain JSON`);
}

/** For the audit log: identifies a rejected metrics object without storing it. */
export function metricsFingerprint(metrics: Json): { sha256: string; bytes: number } {
  const text = JSON.stringify(metrics);
  return { sha256: createHash('sha256').update(text).digest('hex'), bytes: Buffer.byteLength(text, 'utf8') };
}

/**
 * Checks a result against its task's contract (see task-payloads.ts). Returns why it is malformed,
 * or null when it is sound. A result naming weights that are not in the store is not malformed but
 * early (the upload may still be finishing): that throws `not_found` and leaves the task open.
 */
export async function resultProblem(task: TaskRecord, result: SiteResult, models: ModelStore): Promise<string | null> {
  try {
    await checkResult(task, result, models);
    return null;
  } catch (err) {
    if (err instanceof CoordinatorError && err.code === 'not_found') throw err;
    if (err instanceof Error && (err.name === 'CoordinatorError' || err.name === 'HarmonisationError')) return err.message;
    throw err;
  }
}

async function checkResult(task: TaskRecord, result: SiteResult, models: ModelStore): Promise<void> {
  const kind = task.kind as TaskKind;
  if (!TASK_KINDS.includes(kind)) throw invalid(`task kind ${task.kind} has no result contract`);
  if (kind !== 'train' && result.modelHash !== undefined) throw invalid(`${kind} results carry metrics only, but weights were sent`);
  switch (kind) {
    case 'train':
      return checkTrainResult(task.payload as unknown as TrainTaskPayload, result, models);
    case 'evaluate':
      return checkEvaluateResult(task.payload as unknown as EvaluateTaskPayload, result);
    case 'harmonisation-check':
      return checkHarmonisationResult(task.payload as unknown as HarmonisationCheckTaskPayload, result);
    case 'finetune':
      return checkFinetuneResult(task.payload as unknown as FinetuneTaskPayload, result);
  }
}

async function checkTrainResult(payload: TrainTaskPayload, result: SiteResult, models: ModelStore): Promise<void> {
  if (result.numExamples < 1) throw invalid('a training result must report at least one training case');
  for (const [key, value] of Object.entries(asObject(result.metrics, 'metrics'))) {
    if (key === 'lossCurve') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) throw invalid('metrics.lossCurve must be a list of finite numbers (the loss per epoch)');
    } else if (typeof value !== 'number') throw invalid(`metrics.${key} must be a number`);
  }
  if (result.modelHash === undefined) throw invalid('a training result must name its uploaded weights (modelHash)');
  if (!(await models.has(result.modelHash))) throw new CoordinatorError('not_found', `result refers to model ${result.modelHash}, which was not uploaded`);
  const reader = await models.open(result.modelHash);
  try {
    if (reader.header.architecture !== payload.architecture) throw invalid(`returned a ${reader.header.architecture} model, the task trains ${payload.architecture}`);
    checkArchitectureLayout(reader, payload.architecture);
    await checkFiniteWeights(reader);
  } finally {
    await reader.close();
  }
}

/** A site that sends another layout is excluded by itself instead of failing the round's aggregate. */
function checkArchitectureLayout(reader: ParameterReader, architecture: string): void {
  const problem = layoutProblem(reader.header.tensors, architecture);
  if (problem) throw invalid(`returned ${problem}`);
}

async function checkFiniteWeights(reader: ParameterReader): Promise<void> {
  for (let start = 0; start < reader.parameterCount; start += SCAN_CHUNK) {
    const values = await reader.read(start, Math.min(SCAN_CHUNK, reader.parameterCount - start));
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) throw invalid(`returned weights with a non-finite value at parameter ${start + i}`);
    }
  }
}

function exactKeys(obj: SpecObject, expected: readonly string[], what: string): void {
  const extra = Object.keys(obj).filter((k) => !expected.includes(k));
  if (extra.length > 0) throw invalid(`${what}: unexpected ${extra.join(', ')} (expected ${expected.join(', ')})`);
}

/** Per-structure Dice summaries over at most `maxCases` cases. */
function checkStructureSummaries(value: unknown, maxCases: number, what: string): void {
  const perStructure = asObject(value, what);
  exactKeys(perStructure, STRUCTURES, what);
  for (const s of STRUCTURES) {
    const v = asObject(perStructure[s], `${what}.${s}`);
    exactKeys(v, ['n', 'mean', 'sd'], `${what}.${s}`);
    const { n, mean, sd } = v as { n: unknown; mean: unknown; sd: unknown };
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > maxCases) throw invalid(`${what}.${s}.n must be an integer in 1..${maxCases} (the cases reported)`);
    if (typeof mean !== 'number' || mean < 0 || mean > 1) throw invalid(`${what}.${s}.mean must be a Dice score in [0, 1]`);
    if (typeof sd !== 'number' || sd < 0) throw invalid(`${what}.${s}.sd must be ≥ 0`);
  }
}

function checkEvaluateResult(payload: EvaluateTaskPayload, result: SiteResult): void {
  const metrics = asObject(result.metrics, 'metrics');
  const labels = payload.models.map((m) => m.label);
  exactKeys(metrics, labels, 'metrics');
  for (const label of labels) checkStructureSummaries(metrics[label], result.numExamples, `metrics[${JSON.stringify(label)}]`);
}

function checkFinetuneResult(_payload: FinetuneTaskPayload, result: SiteResult): void {
  const metrics = asObject(result.metrics, 'metrics');
  exactKeys(metrics, ['trainCases', 'dice'], 'metrics');
  if (metrics['trainCases'] !== result.numExamples || result.numExamples < 1) throw invalid('metrics.trainCases must equal numExamples and be ≥ 1');
  checkStructureSummaries(metrics['dice'], Number.MAX_SAFE_INTEGER, 'metrics.dice');
}

function checkHarmonisationResult(payload: HarmonisationCheckTaskPayload, result: SiteResult): void {
  if (result.numExamples < 1) throw invalid('a harmonisation report must cover at least one image');
  const report = asObject(result.metrics, 'metrics');
  const { reference } = payload;
  const normalisation = asObject(report['normalisation'], 'metrics.normalisation');
  if (normalisation['lowerPercentile'] !== reference.normalisation.lowerPercentile || normalisation['upperPercentile'] !== reference.normalisation.upperPercentile) {
    throw invalid('metrics.normalisation differs from the reference profile’s');
  }
  const histogram = asObject(report['histogram'], 'metrics.histogram') as unknown as IntensityHistogram;
  if (!Array.isArray(histogram.counts)) throw invalid('metrics.histogram.counts must be a list');
  validateHistogram(histogram, 'metrics.histogram');
  assertSameBinning(histogram, reference.histogram);
  const quantiles = asObject(report['quantiles'], 'metrics.quantiles') as unknown as QuantileTable;
  if (!Array.isArray(quantiles.probabilities) || !Array.isArray(quantiles.values)) throw invalid('metrics.quantiles must hold probabilities and values lists');
  validateQuantileTable(quantiles, 'metrics.quantiles');
  const privacy = asObject(report['privacy'], 'metrics.privacy');
  const { mechanism, epsilon, sensitivity, scale } = privacy as { mechanism: unknown; epsilon: unknown; sensitivity: unknown; scale: unknown };
  if (mechanism !== RELEASE_MECHANISM) throw invalid(`metrics.privacy.mechanism must be ${RELEASE_MECHANISM}`);
  if (typeof epsilon !== 'number' || epsilon <= 0 || epsilon > payload.epsilon) throw invalid(`metrics.privacy.epsilon must be in (0, ${payload.epsilon}], the budget the task allows`);
  if (typeof sensitivity !== 'number' || !(sensitivity > 0)) throw invalid('metrics.privacy.sensitivity must be positive');
  if (typeof scale !== 'number' || Math.abs(scale - sensitivity / epsilon) > 1e-9 * Math.max(1, scale)) throw invalid('metrics.privacy.scale must be sensitivity / epsilon');
}
