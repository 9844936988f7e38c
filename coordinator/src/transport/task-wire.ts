import type { ArchitectureSpec, AugmentationPreset, FreezeSpec, HarmonisationReference, HyperParameters, InferenceOptions, TaskAssignment, TaskKind } from '@lgefed/protocol';
import type { Json } from '../store/jobs.js';
import type { TaskMessage } from '../workflow/transport.js';
import { TransportError } from './wire.js';

/**
 * One unit of work on the wire: a TaskAssignment plus the stored model it names (null when the
 * site starts from its seed, or needs no model). An `evaluate` task over n models becomes n units
 * under one task id, each answered by its own EvaluationResult.
 */
export interface WireUnit {
  readonly assignment: Omit<TaskAssignment, 'model'>;
  readonly modelHash: string | null;
  /** The network to train; null for evaluation, where the stored model's header says it; '' when no network is involved. */
  readonly architecture: string | null;
  /** The label of the model in an evaluate task. */
  readonly label?: string;
}

const KINDS: Readonly<Record<string, TaskKind>> = {
  train: 'TASK_KIND_TRAIN',
  evaluate: 'TASK_KIND_EVALUATE',
  finetune: 'TASK_KIND_FINE_TUNE',
  'harmonisation-check': 'TASK_KIND_HARMONISATION_CHECK',
};

/** Training config keys with a HyperParameters field; `round` travels as TaskAssignment.round. */
const NUMERIC_HYPER = ['epochs', 'iterations', 'batchSize', 'learningRate', 'weightDecay', 'dataFraction', 'caseCount', 'seed', 'proximalMu'] as const;
const TEXT_HYPER = ['optimizer', 'loss'] as const;
const CARRIED_ELSEWHERE = new Set(['round']);

/** Augmentation preset names (shared/src/augment/presets.ts) and their wire enum. */
export const AUGMENTATION_PRESETS: Readonly<Record<string, AugmentationPreset>> = {
  none: 'AUGMENTATION_PRESET_NONE',
  spatial: 'AUGMENTATION_PRESET_SPATIAL',
  paper: 'AUGMENTATION_PRESET_PAPER',
  nnunet: 'AUGMENTATION_PRESET_NNUNET',
};

export const EMPTY_ARCHITECTURE: ArchitectureSpec = {
  name: '',
  inputChannels: 0,
  outputClasses: 0,
  baseFilters: 0,
  depth: 0,
  inputHeight: 0,
  inputWidth: 0,
  parameterCount: 0,
  dropout: 0,
  maxFilters: 0,
};

const NO_AUGMENTATION = { flipProbability: 0, maxRotationDeg: 0, scaleMin: 0, scaleMax: 0, intensityJitter: 0, gammaMin: 0, gammaMax: 0, elasticAlpha: 0, elasticSigma: 0 };
const NO_FREEZE: FreezeSpec = { enabled: false, trainEncoderBlocks: 0, trainDecoderBlocks: 0 };

/** What a task without training carries. */
const NO_TRAINING: HyperParameters = {
  epochs: 0,
  batchSize: 0,
  learningRate: 0,
  weightDecay: 0,
  optimizer: '',
  loss: '',
  augmentation: NO_AUGMENTATION,
  trainableBlocks: [],
  dataFraction: 0,
  seed: 0,
  proximalMu: 0,
  augmentationPreset: 'AUGMENTATION_PRESET_UNSPECIFIED',
  iterations: 0,
  freeze: NO_FREEZE,
  evaluateAfter: false,
  caseCount: 0,
};

const NO_REFERENCE: HarmonisationReference = {
  normalisation: { lowerPercentile: 0, upperPercentile: 0 },
  histogram: { low: 0, high: 0, counts: [] },
  quantiles: { probabilities: [], values: [] },
  epsilon: 0,
  sensitivity: 0,
};

/** One pass at the working spacing: what a task that does not say, or does not score, carries. */
const ONE_PASS: InferenceOptions = { mirror: false, scales: [] };

const unrepresentable = (message: string) => new TransportError('not_representable', message);

function hyperParameters(config: Record<string, Json>): HyperParameters {
  const out: Record<string, unknown> = { ...NO_TRAINING };
  for (const [key, value] of Object.entries(config)) {
    if (CARRIED_ELSEWHERE.has(key)) continue;
    if ((NUMERIC_HYPER as readonly string[]).includes(key) && typeof value === 'number') out[key] = value;
    else if ((TEXT_HYPER as readonly string[]).includes(key) && typeof value === 'string') out[key] = value;
    else if (key === 'augmentation' && typeof value === 'string' && AUGMENTATION_PRESETS[value]) out['augmentationPreset'] = AUGMENTATION_PRESETS[value];
    else throw unrepresentable(`training option ${key}=${JSON.stringify(value)} has no field in the wire protocol's HyperParameters`);
  }
  const epochs = out['epochs'] as number;
  const iterations = out['iterations'] as number;
  const counts = Number.isInteger(epochs) && Number.isInteger(iterations) && epochs >= 0 && iterations >= 0;
  if (!counts || (epochs > 0) === (iterations > 0)) {
    throw unrepresentable('training needs exactly one of config.epochs and config.iterations, a positive integer');
  }
  if (!Number.isInteger(out['seed']) || (out['seed'] as number) < 0) throw unrepresentable('config.seed must be a non-negative integer');
  if (!((out['proximalMu'] as number) >= 0)) throw unrepresentable('config.proximalMu must be ≥ 0');
  return out as unknown as HyperParameters;
}

/** `{trainEncoderBlocks?, trainDecoderBlocks?}` or null as a FreezeSpec; absent counts are 0, as the trainer reads them. */
function freezeSpec(value: Json | undefined): FreezeSpec {
  if (value === null || value === undefined) return NO_FREEZE;
  const freeze = object(value);
  const count = (key: string): number => {
    const v = freeze[key] ?? 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw unrepresentable(`freeze.${key} must be a non-negative integer`);
    return v;
  };
  const extra = Object.keys(freeze).filter((k) => k !== 'trainEncoderBlocks' && k !== 'trainDecoderBlocks');
  if (extra.length > 0) throw unrepresentable(`freeze.${extra.join(', ')} has no field in the wire protocol's FreezeSpec`);
  if (Object.keys(freeze).length === 0) return NO_FREEZE;
  return { enabled: true, trainEncoderBlocks: count('trainEncoderBlocks'), trainDecoderBlocks: count('trainDecoderBlocks') };
}

const numbers = (value: Json | undefined, what: string): number[] => {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number')) throw unrepresentable(`${what} must be a list of numbers`);
  return value as number[];
};

function harmonisationReference(payload: Record<string, Json>): HarmonisationReference {
  const reference = object(payload['reference'] ?? null);
  const normalisation = object(reference['normalisation'] ?? null);
  const histogram = object(reference['histogram'] ?? null);
  const quantiles = object(reference['quantiles'] ?? null);
  const { epsilon } = payload;
  const { lowerPercentile, upperPercentile } = normalisation;
  const { low, high } = histogram;
  if (typeof epsilon !== 'number') throw unrepresentable('harmonisation-check payload needs a numeric epsilon');
  if (typeof lowerPercentile !== 'number' || typeof upperPercentile !== 'number' || typeof low !== 'number' || typeof high !== 'number') {
    throw unrepresentable('harmonisation-check reference needs numeric normalisation percentiles and histogram range');
  }
  return {
    normalisation: { lowerPercentile, upperPercentile },
    histogram: { low, high, counts: numbers(histogram['counts'], 'reference.histogram.counts') },
    quantiles: { probabilities: numbers(quantiles['probabilities'], 'reference.quantiles.probabilities'), values: numbers(quantiles['values'], 'reference.quantiles.values') },
    epsilon,
    // Sites derive the sensitivity from how they build the histogram; the field is left empty.
    sensitivity: 0,
  };
}

/** An evaluation request's `inference` ({mirror, scales?}, as the job schemas check it) as InferenceOptions. */
function inferenceOptions(request: Record<string, Json>): InferenceOptions {
  const inference = request['inference'];
  if (inference === undefined) return ONE_PASS;
  const { mirror = false, scales = [] } = object(inference ?? null);
  if (typeof mirror !== 'boolean') throw unrepresentable('inference.mirror must be a boolean');
  return { mirror, scales: numbers(scales, 'inference.scales') };
}

const object = (v: Json): Record<string, Json> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {});

function architectureOf(payload: Record<string, Json>, kind: string): string {
  const architecture = payload['architecture'];
  if (typeof architecture !== 'string') throw unrepresentable(`${kind} payload lacks architecture`);
  return architecture;
}

/** Translates an engine task into wire units; throws TransportError('not_representable') with the reason. */
export function wireUnits(task: TaskMessage): WireUnit[] {
  const kind = KINDS[task.kind];
  if (!kind) throw unrepresentable(`task kind ${task.kind} has no TaskAssignment kind`);
  const payload = object(task.payload);
  const base = { jobId: task.jobId, taskId: task.taskId, round: task.roundNo, kind, dataset: '', deadlineUnixMs: task.deadlineAt, harmonisation: NO_REFERENCE, inference: ONE_PASS };
  const initial = payload['initialModel'];
  switch (task.kind) {
    case 'train':
      return [{ assignment: { ...base, hyperParameters: hyperParameters(object(payload['config'] ?? {})) }, modelHash: typeof initial === 'string' ? initial : null, architecture: architectureOf(payload, 'train') }];
    case 'finetune': {
      const config = object(payload['config'] ?? {});
      if ('dataFraction' in config) throw unrepresentable('finetune takes its data fraction from the payload, not config.dataFraction');
      const dataFraction = payload['dataFraction'];
      if (typeof dataFraction !== 'number' || !(dataFraction > 0 && dataFraction <= 1)) throw unrepresentable('finetune payload needs dataFraction in (0, 1]');
      const evaluation = object(payload['evaluation'] ?? null);
      if (evaluation['split'] !== 'test' || evaluation['metric'] !== 'dice') throw unrepresentable('finetune evaluates Dice on the test split only');
      const hyper = { ...hyperParameters(config), dataFraction, freeze: freezeSpec(payload['freeze']), evaluateAfter: true };
      return [{ assignment: { ...base, hyperParameters: hyper, inference: inferenceOptions(evaluation) }, modelHash: typeof initial === 'string' ? initial : null, architecture: architectureOf(payload, 'finetune') }];
    }
    case 'harmonisation-check':
      return [{ assignment: { ...base, hyperParameters: NO_TRAINING, harmonisation: harmonisationReference(payload) }, modelHash: null, architecture: '' }];
    default: {
      const models = Array.isArray(payload['models']) ? payload['models'] : [];
      if (models.length === 0) throw unrepresentable('evaluate payload lists no models');
      const inference = inferenceOptions(payload);
      return models.map((m) => {
        const { label, hash } = object(m) as { label?: Json; hash?: Json };
        if (typeof label !== 'string' || typeof hash !== 'string') throw unrepresentable('evaluate models need {label, hash}');
        return { assignment: { ...base, hyperParameters: NO_TRAINING, inference }, modelHash: hash, architecture: null, label };
      });
    }
  }
}
