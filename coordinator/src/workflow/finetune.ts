import type { FreezeOptions } from '@lgefed/shared/model/freeze';
import { STRUCTURES, type Structure } from '@lgefed/shared/types';
import { FINETUNE_LEARNING_RATE } from '@lgefed/shared/workflows/finetune-defaults';
import { CoordinatorError } from '../errors.js';
import type { Json, RoundRecord } from '../store/jobs.js';
import type { ValidatedFinetuneSpec } from './job-schemas.js';
import { architecture, minSitesOf, modelHash, siteList, taskLimits, type TaskLimits } from './spec.js';
import { pool, withInterval, type MetricWithInterval } from './statistics.js';
import type { TestTimePasses } from '@lgefed/shared/model/test-time-scales';
import type { FinetuneResultMetrics, FinetuneTaskPayload } from './task-payloads.js';
import type { FinishedRound, NextStep, Workflow, WorkflowContext } from './workflow.js';

/** One cell of the sweep: a scratch baseline or a fine-tune with the first k encoder blocks trainable. */
export interface FinetuneVariant {
  readonly name: string;
  readonly dataFraction: number;
  /** null: the scratch baseline (random init, every block trains). */
  readonly trainEncoderBlocks: number | null;
}

export interface FinetuneSpec {
  readonly siteIds: readonly string[];
  readonly architecture: string;
  readonly pretrainedModel: string;
  readonly encoderBlocks: readonly number[];
  /** Passed through to every fine-tune variant (the last m decoder blocks also train); unset: decoder frozen. */
  readonly trainDecoderBlocks: number | null;
  readonly dataFractions: readonly number[];
  readonly scratchBaselines: boolean;
  readonly config: Record<string, string | number | boolean>;
  readonly minSites: number;
  readonly limits: TaskLimits;
  /** How sites segment when they score each variant; null: one pass. */
  readonly inference: TestTimePasses | null;
}

type StructureCells = Record<Structure, MetricWithInterval>;

interface VariantOutcome {
  readonly variant: FinetuneVariant;
  readonly sites: Record<string, { readonly trainCases: number; readonly dice: StructureCells }>;
  readonly pooled: StructureCells;
  readonly excluded: readonly { readonly site: string; readonly reason: string | null }[];
}

const bad = (message: string) => new CoordinatorError('invalid_argument', message);

/** The sweep in run order: per data fraction, the scratch baseline first, then k = each listed block count. */
export function finetuneVariants(spec: FinetuneSpec): FinetuneVariant[] {
  return spec.dataFractions.flatMap((f) => [
    ...(spec.scratchBaselines ? [{ name: `scratch/f=${f}`, dataFraction: f, trainEncoderBlocks: null }] : []),
    ...spec.encoderBlocks.map((k) => ({ name: `finetune/k=${k}/f=${f}`, dataFraction: f, trainEncoderBlocks: k })),
  ]);
}

function taskPayload(spec: FinetuneSpec, variant: FinetuneVariant): FinetuneTaskPayload {
  const scratch = variant.trainEncoderBlocks === null;
  const freeze: FreezeOptions | null = scratch
    ? null
    : { trainEncoderBlocks: variant.trainEncoderBlocks!, ...(spec.trainDecoderBlocks === null ? {} : { trainDecoderBlocks: spec.trainDecoderBlocks }) };
  return {
    architecture: spec.architecture,
    initialModel: scratch ? null : spec.pretrainedModel,
    freeze,
    dataFraction: variant.dataFraction,
    // A pretrained model fine-tunes at a lower rate than scratch trains at, unless the job names one.
    config: scratch || spec.config['learningRate'] !== undefined ? spec.config : { ...spec.config, learningRate: FINETUNE_LEARNING_RATE },
    evaluation: { split: 'test', metric: 'dice', ...(spec.inference ? { inference: spec.inference } : {}) },
  };
}

/**
 * `finetune`: the transfer-learning sweep (blocks × data fraction, with scratch baselines), run
 * federated: each variant is one round in which every site fine-tunes the pretrained model on a
 * fraction of its own training cases and scores it on its own test split; only metrics return.
 * Ends with the table of fine-tuned vs scratch per fraction, pooled and per site.
 */
export const finetuneWorkflow: Workflow<FinetuneSpec> = {
  kind: 'finetune',
  parse(raw: unknown, ctx: WorkflowContext): FinetuneSpec {
    const spec = raw as ValidatedFinetuneSpec;
    const siteIds = siteList(spec.sites, ctx);
    const trainDecoderBlocks = spec.trainDecoderBlocks ?? null;
    const encoderBlocks = [...spec.encoderBlocks].sort((a, b) => a - b);
    if (encoderBlocks.includes(0) && !trainDecoderBlocks) throw bad('encoderBlocks 0 with no trainDecoderBlocks would leave nothing to train');
    return {
      siteIds,
      architecture: architecture(spec.architecture),
      pretrainedModel: modelHash(spec.pretrainedModel, 'pretrainedModel', ctx),
      encoderBlocks,
      trainDecoderBlocks,
      dataFractions: [...spec.dataFractions].sort((a, b) => a - b),
      scratchBaselines: spec.scratchBaselines,
      config: { ...spec.config },
      minSites: minSitesOf(spec.minSites, siteIds.length),
      limits: taskLimits(spec),
      inference: spec.inference ?? null,
    };
  },

  next(spec: FinetuneSpec, finished: readonly RoundRecord[]): NextStep {
    const variants = finetuneVariants(spec);
    const variant = variants[finished.length];
    if (!variant) return { type: 'done', summary: finetuneSummary(finished.map((r) => r.outcome as unknown as VariantOutcome)) as unknown as Json };
    const payload = taskPayload(spec, variant) as unknown as Json;
    return { type: 'round', name: variant.name, minSites: spec.minSites, tasks: spec.siteIds.map((siteId) => ({ siteId, kind: 'finetune', payload, ...spec.limits })) };
  },

  async completeRound(spec: FinetuneSpec, round: FinishedRound, ctx: WorkflowContext): Promise<Json> {
    const siteName = (id: string) => ctx.site(id)?.name ?? id;
    const variant = finetuneVariants(spec)[round.round.roundNo]!;
    // Shapes were checked when each result arrived (result-validation.ts).
    const perSite = round.results.map((r) => ({ site: siteName(r.siteId), metrics: r.metrics as unknown as FinetuneResultMetrics }));
    const outcome: VariantOutcome = {
      variant,
      sites: Object.fromEntries(
        perSite.map(({ site, metrics }) => [site, { trainCases: metrics.trainCases, dice: Object.fromEntries(STRUCTURES.map((s) => [s, withInterval(metrics.dice[s])])) as StructureCells }]),
      ),
      pooled: Object.fromEntries(STRUCTURES.map((s) => [s, withInterval(pool(perSite.map(({ metrics }) => metrics.dice[s])))])) as StructureCells,
      excluded: round.tasks.filter((t) => t.status === 'excluded').map((t) => ({ site: siteName(t.siteId), reason: t.excludedReason })),
    };
    return outcome as unknown as Json;
  },
};

interface FractionRow {
  readonly dataFraction: number;
  readonly structure: Structure;
  readonly scratch: number | null;
  readonly finetuned: readonly { readonly trainEncoderBlocks: number; readonly mean: number; readonly gainOverScratch: number | null }[];
  readonly best: { readonly trainEncoderBlocks: number; readonly mean: number; readonly gainOverScratch: number | null } | null;
}

/** Best fine-tune vs scratch per fraction and structure: pooled over sites (`table`) and at each site (`perSite`). */
function finetuneSummary(outcomes: readonly VariantOutcome[]) {
  const fractions = [...new Set(outcomes.map((o) => o.variant.dataFraction))].sort((a, b) => a - b);
  const sites = [...new Set(outcomes.flatMap((o) => Object.keys(o.sites)))].sort();
  const rows = (mean: (o: VariantOutcome, s: Structure) => number | null): FractionRow[] =>
    fractions.flatMap((f) =>
      STRUCTURES.map((s) => {
        const atFraction = outcomes.filter((o) => o.variant.dataFraction === f);
        const scratchOutcome = atFraction.find((o) => o.variant.trainEncoderBlocks === null);
        const scratch = scratchOutcome ? mean(scratchOutcome, s) : null;
        const finetuned = atFraction.flatMap((o) => {
          const m = o.variant.trainEncoderBlocks === null ? null : mean(o, s);
          return m === null ? [] : [{ trainEncoderBlocks: o.variant.trainEncoderBlocks!, mean: m, gainOverScratch: scratch === null ? null : m - scratch }];
        });
        const best = finetuned.reduce<FractionRow['best']>((a, b) => (a === null || b.mean > a.mean ? b : a), null);
        return { dataFraction: f, structure: s, scratch, finetuned, best };
      }),
    );
  return {
    variants: outcomes,
    table: rows((o, s) => (o.pooled[s].n > 0 ? o.pooled[s].mean : null)),
    perSite: Object.fromEntries(sites.map((site) => [site, rows((o, s) => o.sites[site]?.dice[s].mean ?? null)])),
  };
}
