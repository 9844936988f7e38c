import type { AugmentationPreset, HyperParameters, InferenceOptions, TaskAssignment } from '@lgefed/protocol';
import type { PresetName } from '@lgefed/shared/augment/presets';
import type { ReferenceIntensityProfile } from '@lgefed/shared/harmonise/index';
import type { FreezeOptions } from '@lgefed/shared/model/freeze';
import { scalesProblem, type TestTimePasses } from '@lgefed/shared/model/test-time-scales';
import { PolicyRefusal } from './errors.js';

/** Task kinds by their policy name (the coordinator's job-engine names). */
export const SITE_TASK_KINDS = ['train', 'evaluate', 'finetune', 'harmonisation-check'] as const;
export type SiteTaskKind = (typeof SITE_TASK_KINDS)[number];

const KIND_NAMES: Readonly<Record<string, SiteTaskKind>> = {
  TASK_KIND_TRAIN: 'train',
  TASK_KIND_EVALUATE: 'evaluate',
  TASK_KIND_FINE_TUNE: 'finetune',
  TASK_KIND_HARMONISATION_CHECK: 'harmonisation-check',
};

const PRESET_NAMES: Readonly<Record<AugmentationPreset, PresetName | undefined>> = {
  AUGMENTATION_PRESET_UNSPECIFIED: undefined,
  AUGMENTATION_PRESET_NONE: 'none',
  AUGMENTATION_PRESET_SPATIAL: 'spatial',
  AUGMENTATION_PRESET_PAPER: 'paper',
  AUGMENTATION_PRESET_NNUNET: 'nnunet',
};

/** Local training as the coordinator asked for it; exactly one of epochs and iterations is set. */
export interface TrainingSettings {
  readonly epochs?: number;
  readonly iterations?: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  /** Fraction of the training split to use, in (0, 1]. */
  readonly dataFraction: number;
  /** Exactly this many training cases instead of a fraction (0 = use dataFraction). */
  readonly caseCount: number;
  /** Absent: the training function's default preset. */
  readonly augmentation?: PresetName;
  /** FedProx μ; 0 = plain local training. */
  readonly proximalMu: number;
}

/** A TaskAssignment read into what the site will run. */
export type SiteTask =
  | { readonly kind: 'train'; readonly training: TrainingSettings }
  | { readonly kind: 'evaluate'; readonly inference: TestTimePasses }
  | { readonly kind: 'finetune'; readonly training: TrainingSettings; readonly freeze: FreezeOptions | null; readonly inference: TestTimePasses }
  | { readonly kind: 'harmonisation-check'; readonly reference: ReferenceIntensityProfile; readonly epsilon: number };

const unsupported = (message: string) => new PolicyRefusal('unsupported_task', message);

function trainingSettings(h: HyperParameters): TrainingSettings {
  if ((h.epochs > 0) === (h.iterations > 0)) throw unsupported(`training needs exactly one of epochs and iterations (got ${h.epochs} and ${h.iterations})`);
  if (!(h.dataFraction >= 0 && h.dataFraction <= 1)) throw unsupported(`data fraction ${h.dataFraction} is not in (0, 1]`);
  if (h.caseCount > 0 && h.dataFraction > 0) throw unsupported('training asks for both a data fraction and a case count');
  if (!(h.proximalMu >= 0 && Number.isFinite(h.proximalMu))) throw unsupported(`FedProx μ ${h.proximalMu} must be a finite number ≥ 0`);
  if (h.weightDecay !== 0 || (h.optimizer !== '' && h.optimizer !== 'adam') || (h.loss !== '' && h.loss !== 'dice+ce')) {
    throw unsupported(`this agent trains with adam on dice+ce without weight decay (asked: ${h.optimizer || 'adam'}, ${h.loss || 'dice+ce'}, weight decay ${h.weightDecay})`);
  }
  const augmentation = PRESET_NAMES[h.augmentationPreset];
  return {
    ...(h.epochs > 0 ? { epochs: h.epochs } : { iterations: h.iterations }),
    batchSize: h.batchSize || 4,
    learningRate: h.learningRate || 1e-3,
    seed: h.seed,
    // 0 is the wire default: the whole training split.
    dataFraction: h.dataFraction > 0 ? h.dataFraction : 1,
    caseCount: h.caseCount,
    ...(augmentation ? { augmentation } : {}),
    proximalMu: h.proximalMu,
  };
}

/** The scoring passes an assignment asks for; scales outside test-time-scales.ts's bounds are refused, not clamped. */
function inferenceSettings(options: InferenceOptions): TestTimePasses {
  if (options.scales.length === 0) return { mirror: options.mirror };
  const problem = scalesProblem(options.scales);
  if (problem) throw unsupported(`inference ${problem}`);
  return { mirror: options.mirror, scales: [...options.scales] };
}

/** Reads what an assignment asks for; a request this agent cannot honour is refused (PolicyRefusal 'unsupported_task'). */
export function readAssignment(assignment: TaskAssignment): SiteTask {
  const kind = KIND_NAMES[assignment.kind];
  const h = assignment.hyperParameters;
  switch (kind) {
    case 'train':
      return { kind, training: trainingSettings(h) };
    case 'evaluate':
      return { kind, inference: inferenceSettings(assignment.inference) };
    case 'finetune': {
      // Only the scores leave the site: a fine-tune that is not scored would send back nothing.
      if (!h.evaluateAfter) throw unsupported('a fine-tune task must ask for evaluation on the test split (evaluate_after)');
      if (h.proximalMu !== 0) throw unsupported('fine-tuning has no FedProx term');
      const { enabled, trainEncoderBlocks, trainDecoderBlocks } = h.freeze;
      return { kind, training: trainingSettings(h), freeze: enabled ? { trainEncoderBlocks, trainDecoderBlocks } : null, inference: inferenceSettings(assignment.inference) };
    }
    case 'harmonisation-check': {
      // The wire's `sensitivity` is ignored: how much one patient moves the histogram is the site's to know (privacy/histogram-release.ts).
      const { normalisation, histogram, quantiles, epsilon } = assignment.harmonisation;
      if (!(epsilon > 0)) throw unsupported(`a harmonisation check needs a positive ε (got ${epsilon})`);
      return {
        kind,
        reference: {
          normalisation: { lowerPercentile: normalisation.lowerPercentile, upperPercentile: normalisation.upperPercentile },
          histogram: { low: histogram.low, high: histogram.high, counts: [...histogram.counts] },
          quantiles: { probabilities: [...quantiles.probabilities], values: [...quantiles.values] },
        },
        epsilon,
      };
    }
    default:
      throw unsupported(`this agent does not run ${assignment.kind} tasks`);
  }
}

/** The training cases a task selects (selectCases): a count, or a fraction of the training split. */
export function caseSelection(training: TrainingSettings): { count: number } | { fraction: number } {
  return training.caseCount > 0 ? { count: training.caseCount } : { fraction: training.dataFraction };
}

/** How many training cases that selection takes from `available` (a count beyond them fails the task). */
export function selectedCaseCount(training: TrainingSettings, available: number): number {
  return training.caseCount > 0 ? training.caseCount : Math.max(1, Math.round(available * training.dataFraction));
}
