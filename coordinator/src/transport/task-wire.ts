import type { ArchitectureSpec, HyperParameters, TaskAssignment, TaskKind } from '@lgefed/protocol';
import type { Json } from '../store/jobs.js';
import type { TaskMessage } from '../workflow/transport.js';
import { TransportError } from './wire.js';

/**
 * One unit of work on the wire: a TaskAssignment plus the stored model it names (null when the
 * site starts from its seed). An `evaluate` task over n models becomes n units under one task id,
 * each answered by its own EvaluationResult.
 */
export interface WireUnit {
  readonly assignment: Omit<TaskAssignment, 'model'>;
  readonly modelHash: string | null;
  /** The network to train; null for evaluation, where the stored model's header says it. */
  readonly architecture: string | null;
  /** The label of the model in an evaluate task. */
  readonly label?: string;
}

/** Task kinds the wire protocol can carry today (finetune and harmonisation-check need payload fields TaskAssignment lacks). */
const KINDS: Readonly<Record<string, TaskKind>> = { train: 'TASK_KIND_TRAIN', evaluate: 'TASK_KIND_EVALUATE' };

/** Training config keys with a HyperParameters field; `round` travels as TaskAssignment.round. */
const NUMERIC_HYPER = ['epochs', 'batchSize', 'learningRate', 'weightDecay', 'dataFraction', 'seed'] as const;
const TEXT_HYPER = ['optimizer', 'loss'] as const;
const CARRIED_ELSEWHERE = new Set(['round']);

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
};

const NO_AUGMENTATION = { flipProbability: 0, maxRotationDeg: 0, scaleMin: 0, scaleMax: 0, intensityJitter: 0, gammaMin: 0, gammaMax: 0, elasticAlpha: 0, elasticSigma: 0 };

/** What an evaluation carries: no training at all. */
const NO_TRAINING: HyperParameters = { epochs: 0, batchSize: 0, learningRate: 0, weightDecay: 0, optimizer: '', loss: '', augmentation: NO_AUGMENTATION, trainableBlocks: [], dataFraction: 0, seed: 0 };

function hyperParameters(config: Record<string, Json>): HyperParameters {
  const out: Record<string, unknown> = { ...NO_TRAINING };
  for (const [key, value] of Object.entries(config)) {
    if (CARRIED_ELSEWHERE.has(key)) continue;
    if ((NUMERIC_HYPER as readonly string[]).includes(key) && typeof value === 'number') out[key] = value;
    else if ((TEXT_HYPER as readonly string[]).includes(key) && typeof value === 'string') out[key] = value;
    else throw new TransportError('not_representable', `training option ${key}=${JSON.stringify(value)} has no field in the wire protocol's HyperParameters`);
  }
  if (!Number.isInteger(out['epochs']) || (out['epochs'] as number) < 1) throw new TransportError('not_representable', 'training needs config.epochs ≥ 1');
  if (!Number.isInteger(out['seed']) || (out['seed'] as number) < 0) throw new TransportError('not_representable', 'config.seed must be a non-negative integer');
  return out as unknown as HyperParameters;
}

const object = (v: Json): Record<string, Json> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {});

/** Translates an engine task into wire units; throws TransportError('not_representable') with the reason. */
export function wireUnits(task: TaskMessage): WireUnit[] {
  const kind = KINDS[task.kind];
  if (!kind) throw new TransportError('not_representable', `task kind ${task.kind} cannot be sent to sites yet (no TaskAssignment fields for its payload)`);
  const payload = object(task.payload);
  const base = { jobId: task.jobId, taskId: task.taskId, round: task.roundNo, kind, dataset: '', deadlineUnixMs: task.deadlineAt };
  if (task.kind === 'train') {
    const initial = payload['initialModel'];
    const architecture = payload['architecture'];
    if (typeof architecture !== 'string') throw new TransportError('not_representable', 'train payload lacks architecture');
    return [
      {
        assignment: { ...base, hyperParameters: hyperParameters(object(payload['config'] ?? {})) },
        modelHash: typeof initial === 'string' ? initial : null,
        architecture,
      },
    ];
  }
  const models = Array.isArray(payload['models']) ? payload['models'] : [];
  if (models.length === 0) throw new TransportError('not_representable', 'evaluate payload lists no models');
  return models.map((m) => {
    const { label, hash } = object(m) as { label?: Json; hash?: Json };
    if (typeof label !== 'string' || typeof hash !== 'string') throw new TransportError('not_representable', 'evaluate models need {label, hash}');
    return { assignment: { ...base, hyperParameters: NO_TRAINING }, modelHash: hash, architecture: null, label };
  });
}
