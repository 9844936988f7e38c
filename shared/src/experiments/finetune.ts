/**
 * Fig. 8, Fig. 10 and Table 5: a model pretrained at the source site is fine-tuned at each target
 * site (a) with only the first k encoder blocks or the last k decoder blocks trainable, on the
 * whole training pool, and (b) on growing fractions of the pool, next to models trained from
 * scratch on the same cases and (Fig. 9, `scratchWithSource`) from scratch on the source's pool
 * plus those cases. Selections are seeded and nested (10 % ⊂ 25 % ⊂ …).
 */
import type { Case } from '../types.js';
import { finetuneModel } from '../workflows/finetune.js';
import { selectCases } from '../workflows/split.js';
import type { LoadedModel } from '../workflows/model-files.js';
import { diceRows, scoreArm, trainArm, type ComputeOptions, type DiceRow } from './arms.js';
import { ArmCounter, scoringOptions, site, type RunContext } from './context.js';
import { ExperimentError } from './errors.js';

/** Fig. 9's arm in the fraction rows' `start` factor. */
export const SCRATCH_WITH_SOURCE = 'scratch on source + target';

export interface FinetuneResults {
  readonly sourceSite: string;
  /** Fig. 8: factors side (encoder | decoder | pretrained) and blocks (k; 0 for the pretrained model as is). */
  readonly blockRows: DiceRow[];
  /** Fig. 10 / Table 5 (and Fig. 9): factors start (finetuned | scratch | SCRATCH_WITH_SOURCE), fraction and cases used. */
  readonly fractionRows: DiceRow[];
}

/** `pretrained` fine-tuned on `cases` with the experiment's training settings (`iterations` of them). */
export async function finetuned(
  context: RunContext,
  pretrained: LoadedModel,
  cases: readonly Case[],
  freeze: { trainEncoderBlocks?: number; trainDecoderBlocks?: number } | undefined,
  compute: ComputeOptions,
  iterations = context.config.finetune.iterations,
): Promise<LoadedModel> {
  const { config } = context;
  const result = await finetuneModel({
    start: pretrained,
    cases,
    ...(freeze ?? {}),
    augmentation: config.training.augmentation,
    batchSize: config.training.batchSize,
    iterations,
    learningRate: config.training.learningRate,
    seed: config.training.seed,
    ...(compute.backend ? { backend: compute.backend } : {}),
    ...(compute.signal ? { signal: compute.signal } : {}),
    ...(compute.onTraining ? { onProgress: compute.onTraining } : {}),
    onLog: () => undefined,
  });
  return { spec: result.spec, weights: result.weights, id: result.modelId, training: result.record };
}

export async function runFinetuneExperiment(context: RunContext): Promise<FinetuneResults> {
  const { config } = context;
  const { sourceSite, targetSites, blocks, fractions, fractionFreeze } = config.finetune;
  const stages = config.model.stages;
  for (const k of blocks) {
    if (k > stages - 1) throw new ExperimentError(`finetune.blocks: ${k} exceeds the ${stages - 1} decoder blocks of this ${stages}-stage U-Net`);
  }
  const { scratchWithSource } = config.finetune;
  const counter = new ArmCounter(context, 1 + targetSites.length * (2 * blocks.length + (scratchWithSource ? 3 : 2) * fractions.length));
  const sourcePool = site(context, sourceSite).pool;
  const pretrained = await trainArm({ spec: config.model, cases: sourcePool, training: config.training }, counter.next(`pretrain ${sourceSite}`));
  const blockRows: DiceRow[] = [];
  const fractionRows: DiceRow[] = [];
  for (const name of targetSites) {
    const target = site(context, name);
    blockRows.push(...diceRows({ side: 'pretrained', blocks: 0 }, name, await scoreArm(pretrained, target.test, undefined, scoringOptions(context))));
    for (const side of ['encoder', 'decoder'] as const) {
      for (const k of blocks) {
        const compute = counter.next(`${name}: fine-tune ${side} blocks 1..${k}`);
        const freeze = side === 'encoder' ? { trainEncoderBlocks: k } : { trainDecoderBlocks: k };
        const model = await finetuned(context, pretrained, target.pool, freeze, compute);
        blockRows.push(...diceRows({ side, blocks: k }, name, await scoreArm(model, target.test, undefined, compute)));
      }
    }
    for (const fraction of fractions) {
      // Nested, seeded subsets: the same cases for the fine-tuned and the scratch model.
      const cases = selectCases(target.pool, { fraction }, config.splitSeed);
      const tuned = await finetuned(context, pretrained, cases, fractionFreeze, counter.next(`${name}: fine-tune on ${Math.round(fraction * 100)} % (${cases.length} cases)`));
      fractionRows.push(...diceRows({ start: 'finetuned', fraction, cases: cases.length }, name, await scoreArm(tuned, target.test, undefined, scoringOptions(context))));
      const scratch = await trainArm({ spec: config.model, cases, training: config.training }, counter.next(`${name}: scratch on ${Math.round(fraction * 100)} %`));
      fractionRows.push(...diceRows({ start: 'scratch', fraction, cases: cases.length }, name, await scoreArm(scratch, target.test, undefined, scoringOptions(context))));
      if (!scratchWithSource) continue;
      const pooled = await trainArm({ spec: config.model, cases: [...sourcePool, ...cases], training: config.training }, counter.next(`${name}: scratch on ${sourceSite} + ${Math.round(fraction * 100)} %`));
      fractionRows.push(...diceRows({ start: SCRATCH_WITH_SOURCE, fraction, cases: cases.length }, name, await scoreArm(pooled, target.test, undefined, scoringOptions(context))));
    }
  }
  return { sourceSite, blockRows, fractionRows };
}
