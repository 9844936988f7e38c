import { STRUCTURES } from '@lgefed/shared/types';
import { CoordinatorError } from '../errors.js';
import type { Json, ResultRecord, RoundRecord, TaskPlan } from '../store/jobs.js';
import { asObject, int, modelHash, siteList, str, taskLimits, type SpecObject, type TaskLimits } from './spec.js';
import { pool, withInterval, type MetricSummary } from './statistics.js';
import type { FinishedRound, NextStep, Workflow, WorkflowContext } from './workflow.js';

export interface ModelRef {
  readonly label: string;
  readonly hash: string;
}

export interface EvaluateSpec {
  readonly models: readonly ModelRef[];
  readonly siteIds: readonly string[];
  readonly minSites: number;
  readonly limits: TaskLimits;
}

/**
 * The task each site runs: score every model on its own test split and send back, per model and
 * structure, only n / mean / sd of the per-case Dice.
 */
export function evaluationTasks(models: readonly ModelRef[], siteIds: readonly string[], limits: TaskLimits): TaskPlan[] {
  const payload: Json = { split: 'test', metric: 'dice', models: models.map((m) => ({ label: m.label, hash: m.hash })) };
  return siteIds.map((siteId) => ({ siteId, kind: 'evaluate', payload, ...limits }));
}

/** Reads a site's evaluation metrics, refusing anything that is not n/mean/sd per model and structure. */
function siteSummaries(result: ResultRecord, models: readonly ModelRef[]): Map<string, Record<string, MetricSummary>> {
  const byModel = new Map<string, Record<string, MetricSummary>>();
  const metrics = asObject(result.metrics, `metrics from site ${result.siteId}`);
  for (const m of models) {
    const perStructure = asObject(metrics[m.label], `metrics from site ${result.siteId} for model ${m.label}`);
    const out: Record<string, MetricSummary> = {};
    for (const s of STRUCTURES) {
      const v = asObject(perStructure[s], `site ${result.siteId}, model ${m.label}, ${s}`) as SpecObject;
      const n = v['n'], mean = v['mean'], sd = v['sd'];
      if (!Number.isInteger(n) || (n as number) < 0 || typeof mean !== 'number' || typeof sd !== 'number' || !(sd >= 0)) {
        throw new CoordinatorError('invalid_argument', `site ${result.siteId}, model ${m.label}, ${s}: expected {n, mean, sd}`);
      }
      out[s] = { n: n as number, mean, sd };
    }
    byModel.set(m.label, out);
  }
  return byModel;
}

/**
 * The cross-site matrix: every model × every site that answered, per structure mean ± sd with a
 * 95 % CI, plus each model pooled over all those sites' cases.
 */
export function crossSiteMatrix(models: readonly ModelRef[], round: FinishedRound, siteName: (id: string) => string): Json {
  const perSite = round.results.map((r) => ({ site: siteName(r.siteId), summaries: siteSummaries(r, models) }));
  const cells = models.map((m) => ({
    model: m.label,
    hash: m.hash,
    sites: Object.fromEntries(
      perSite.map(({ site, summaries }) => [site, Object.fromEntries(STRUCTURES.map((s) => [s, withInterval(summaries.get(m.label)![s]!) as unknown as Json]))]),
    ),
    pooled: Object.fromEntries(
      STRUCTURES.map((s) => [s, withInterval(pool(perSite.map(({ summaries }) => summaries.get(m.label)![s]!))) as unknown as Json]),
    ),
  }));
  const excluded = round.tasks.filter((t) => t.status === 'excluded').map((t) => ({ site: siteName(t.siteId), reason: t.excludedReason }));
  return { structures: [...STRUCTURES], rows: cells as unknown as Json, excluded };
}

export function parseModels(value: unknown): ModelRef[] {
  if (!Array.isArray(value) || value.length === 0) throw new CoordinatorError('invalid_argument', 'models must be a non-empty list of {label, hash}');
  const models = value.map((m, i) => {
    const o = asObject(m, `models[${i}]`);
    return { label: str(o, 'label'), hash: modelHash(o['hash'], `models[${i}].hash`) };
  });
  if (new Set(models.map((m) => m.label)).size !== models.length) throw new CoordinatorError('invalid_argument', 'model labels must be unique');
  return models;
}

export const evaluateWorkflow: Workflow<EvaluateSpec> = {
  kind: 'evaluate',
  parse(raw: unknown, ctx: WorkflowContext): EvaluateSpec {
    const spec = asObject(raw, 'evaluate job spec');
    const siteIds = siteList(spec, 'sites', ctx);
    const minSites = int(spec, 'minSites', 1, siteIds.length);
    if (minSites > siteIds.length) throw new CoordinatorError('invalid_argument', `minSites ${minSites} exceeds the ${siteIds.length} sites named`);
    return { models: parseModels(spec['models']), siteIds, minSites, limits: taskLimits(spec) };
  },
  next(spec: EvaluateSpec, finished: readonly RoundRecord[]): NextStep {
    if (finished.length > 0) return { type: 'done', summary: finished[0]!.outcome };
    return { type: 'round', name: 'evaluate', minSites: spec.minSites, tasks: evaluationTasks(spec.models, spec.siteIds, spec.limits) };
  },
  async completeRound(spec: EvaluateSpec, round: FinishedRound, ctx: WorkflowContext): Promise<Json> {
    return crossSiteMatrix(spec.models, round, (id) => ctx.site(id)?.name ?? id);
  },
};
