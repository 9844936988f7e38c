import { STRUCTURES, type Structure } from '@lgefed/shared/types';
import { CoordinatorError } from '../errors.js';
import type { Json, ResultRecord, RoundRecord, TaskPlan } from '../store/jobs.js';
import { centreComparison } from './comparison.js';
import type { ValidatedEvaluateSpec, ValidatedModelRef } from './job-schemas.js';
import { minSitesOf, modelHash, siteList, taskLimits, type TaskLimits } from './spec.js';
import { pool, withInterval, type MetricSummary, type MetricWithInterval } from './statistics.js';
import type { TestTimePasses } from '@lgefed/shared/model/test-time-scales';
import type { EvaluateResultMetrics, EvaluateTaskPayload } from './task-payloads.js';
import type { FinishedRound, NextStep, Workflow, WorkflowContext } from './workflow.js';

export interface ModelRef {
  readonly label: string;
  readonly hash: string;
  /**
   * Names of the centres whose data trained the model: one for a single-centre model, several for
   * a multi-centre (federated or pooled) one. Unset: the model takes no part in the comparison.
   */
  readonly trainedAt?: readonly string[];
}

export interface EvaluateSpec {
  readonly models: readonly ModelRef[];
  readonly siteIds: readonly string[];
  readonly minSites: number;
  readonly limits: TaskLimits;
  /** How sites segment when they score; null: one pass. */
  readonly inference: TestTimePasses | null;
}

export type StructureCells = Record<Structure, MetricWithInterval>;

export interface MatrixRow {
  readonly model: string;
  readonly hash: string;
  /** Site name → that site's test-split scores. */
  readonly sites: Record<string, StructureCells>;
  /** Over every case of every site that answered. */
  readonly pooled: StructureCells;
}

export interface CrossSiteMatrix {
  readonly structures: readonly Structure[];
  readonly rows: readonly MatrixRow[];
  readonly excluded: readonly { readonly site: string; readonly reason: string | null }[];
}

/**
 * The task each site runs: score every model on its own test split and send back, per model and
 * structure, only n / mean / sd of the per-case Dice.
 */
export function evaluationTasks(models: readonly ModelRef[], siteIds: readonly string[], limits: TaskLimits, inference: TestTimePasses | null): TaskPlan[] {
  const payload: EvaluateTaskPayload = { split: 'test', metric: 'dice', ...(inference ? { inference } : {}), models: models.map((m) => ({ label: m.label, hash: m.hash })) };
  return siteIds.map((siteId) => ({ siteId, kind: 'evaluate', payload: payload as unknown as Json, ...limits }));
}

/** A site's evaluation metrics; their shape was checked when the result arrived (result-validation.ts). */
function siteSummaries(result: ResultRecord): EvaluateResultMetrics {
  return result.metrics as unknown as EvaluateResultMetrics;
}

/**
 * The cross-site matrix: every model × every site that answered, per structure mean ± sd with a
 * 95 % CI, plus each model pooled over all those sites' cases.
 */
export function crossSiteMatrix(models: readonly ModelRef[], round: FinishedRound, siteName: (id: string) => string): CrossSiteMatrix {
  const perSite = round.results.map((r) => ({ site: siteName(r.siteId), summaries: siteSummaries(r) }));
  const cells = (parts: (s: Structure) => MetricSummary) => Object.fromEntries(STRUCTURES.map((s) => [s, withInterval(parts(s))])) as StructureCells;
  const rows = models.map((m) => ({
    model: m.label,
    hash: m.hash,
    sites: Object.fromEntries(perSite.map(({ site, summaries }) => [site, cells((s) => summaries[m.label]![s])])),
    pooled: cells((s) => pool(perSite.map(({ summaries }) => summaries[m.label]![s]))),
  }));
  const excluded = round.tasks.filter((t) => t.status === 'excluded').map((t) => ({ site: siteName(t.siteId), reason: t.excludedReason }));
  return { structures: [...STRUCTURES], rows, excluded };
}

/** Stored models for a spec's model list; labels must be unique (a schema cannot say that of objects). */
export function parseModels(models: readonly ValidatedModelRef[], ctx: WorkflowContext): ModelRef[] {
  if (new Set(models.map((m) => m.label)).size !== models.length) throw new CoordinatorError('invalid_argument', 'model labels must be unique');
  return models.map((m, i) => ({ label: m.label, hash: modelHash(m.hash, `models[${i}].hash`, ctx), ...(m.trainedAt ? { trainedAt: [...new Set(m.trainedAt)] } : {}) }));
}

/**
 * `evaluate`: the cross-site matrix of the given models, ending with the single- vs multi-centre
 * comparison for the models whose `trainedAt` is given.
 */
export const evaluateWorkflow: Workflow<EvaluateSpec> = {
  kind: 'evaluate',
  parse(raw: unknown, ctx: WorkflowContext): EvaluateSpec {
    const spec = raw as ValidatedEvaluateSpec;
    const siteIds = siteList(spec.sites, ctx);
    return { models: parseModels(spec.models, ctx), siteIds, minSites: minSitesOf(spec.minSites, siteIds.length), limits: taskLimits(spec), inference: spec.inference ?? null };
  },
  next(spec: EvaluateSpec, finished: readonly RoundRecord[]): NextStep {
    if (finished.length > 0) {
      const matrix = finished[0]!.outcome as unknown as CrossSiteMatrix;
      return { type: 'done', summary: { matrix, comparison: centreComparison(matrix, spec.models) } as unknown as Json };
    }
    return { type: 'round', name: 'evaluate', minSites: spec.minSites, tasks: evaluationTasks(spec.models, spec.siteIds, spec.limits, spec.inference) };
  },
  async completeRound(spec: EvaluateSpec, round: FinishedRound, ctx: WorkflowContext): Promise<Json> {
    return crossSiteMatrix(spec.models, round, (id) => ctx.site(id)?.name ?? id) as unknown as Json;
  },
};
