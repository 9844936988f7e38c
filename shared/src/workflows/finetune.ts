/**
 * Transfer learning: from a pretrained model, train only the first k encoder blocks and/or the
 * last m decoder blocks, on a seeded fraction or count of a site's cases. `start: 'scratch'` gives
 * the from-scratch baseline through the same call (all blocks train, He initialisation), so the
 * two differ only in where the weights start.
 */
import { trainableBlocks } from '../model/freeze.js';
import type { UNetSpec } from '../model/spec.js';
import type { Case } from '../types.js';
import { WorkflowError } from './errors.js';
import type { LoadedModel } from './model-files.js';
import { selectCases, type CaseSelection } from './split.js';
import { DEFAULT_SPACING, trainSegmentation, type TrainSegmentationOptions, type TrainSegmentationResult } from './train.js';

export interface FinetuneOptions extends Omit<TrainSegmentationOptions, 'spec' | 'cases' | 'initialWeights' | 'startedFrom' | 'freeze' | 'spacing'> {
  /** The pretrained model, or 'scratch' for a baseline trained from He initialisation. */
  readonly start: LoadedModel | { readonly scratch: UNetSpec };
  /** The site's annotated cases; `selection` picks the ones used. */
  readonly cases: readonly Case[];
  /** Default: every case. */
  readonly selection?: CaseSelection;
  /** Seeds the case selection (default: the training seed). */
  readonly selectionSeed?: number;
  /** Trainable blocks; absent together = every block trains. */
  readonly trainEncoderBlocks?: number;
  readonly trainDecoderBlocks?: number;
}

export interface FinetuneResult extends TrainSegmentationResult {
  /** Ids of the cases trained on. */
  readonly usedCases: string[];
  /** Blocks that trained, e.g. enc0, enc1, dec3. */
  readonly trainedBlocks: string[];
}

export async function finetuneModel(options: FinetuneOptions): Promise<FinetuneResult> {
  const { start, cases, selection, selectionSeed, trainEncoderBlocks, trainDecoderBlocks, ...training } = options;
  const pretrained = 'weights' in start ? start : undefined;
  const spec = pretrained ? pretrained.spec : (start as { scratch: UNetSpec }).scratch;
  const labelled = cases.filter((c) => c.label);
  if (labelled.length === 0) throw new WorkflowError('fine-tuning needs annotated cases; none of the given cases has labels');
  const used = selection ? selectCases(labelled, selection, selectionSeed ?? training.seed ?? 0) : labelled;
  const freeze =
    trainEncoderBlocks === undefined && trainDecoderBlocks === undefined
      ? undefined
      : { ...(trainEncoderBlocks !== undefined ? { trainEncoderBlocks } : {}), ...(trainDecoderBlocks !== undefined ? { trainDecoderBlocks } : {}) };
  // Checked here too, so a wrong block count fails before data is prepared.
  const blocks = [...trainableBlocks(spec, freeze ?? {})];
  const result = await trainSegmentation({
    ...training,
    spec,
    cases: used,
    spacing: pretrained?.training?.spacing ?? DEFAULT_SPACING,
    ...(pretrained ? { initialWeights: pretrained.weights, startedFrom: pretrained.id } : {}),
    ...(freeze ? { freeze } : {}),
  });
  return { ...result, usedCases: used.map((c) => c.id), trainedBlocks: blocks };
}
