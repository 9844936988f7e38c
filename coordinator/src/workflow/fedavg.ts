import type { TestTimePasses } from '@lgefed/shared/model/test-time-scales';
import { clipUpdates, createStrategy, storedUpdate, type AggregationSpec } from '../aggregation/index.js';
import { CoordinatorError } from '../errors.js';
import type { Json, RoundRecord, TaskPlan } from '../store/jobs.js';
import { centreComparison } from './comparison.js';
import { crossSiteMatrix, evaluationTasks, type CrossSiteMatrix, type ModelRef } from './evaluate.js';
import { acceptResultModel, openAll, storeAggregate } from './models.js';
import type { ValidatedFedAvgSpec } from './job-schemas.js';
import { architecture, modelHash, siteList, taskLimits, type TaskLimits } from './spec.js';
import type { FinishedRound, NextStep, Workflow, WorkflowContext } from './workflow.js';

export interface FedAvgSpec {
  readonly siteIds: readonly string[];
  readonly rounds: number;
  readonly localEpochs: number;
  readonly architecture: string;
  readonly initialModel: string | null;
  readonly config: Record<string, string | number | boolean>;
  readonly aggregation: AggregationSpec;
  readonly minSites: number;
  /** Fig. 11: start with the first `initialSites` listed and add `addPerRound` each round. */
  readonly progressive: { readonly initialSites: number; readonly addPerRound: number } | null;
  /** Train each site alone first (same epoch budget) and end with the single- vs multi-centre comparison. */
  readonly compareWithLocal: boolean;
  readonly limits: TaskLimits;
  /** How sites segment when they score the compared models; null: one pass. */
  readonly inference: TestTimePasses | null;
}

type Phase = { type: 'local' } | { type: 'federated'; round: number } | { type: 'evaluate' };

function phases(spec: FedAvgSpec): Phase[] {
  const federated = Array.from({ length: spec.rounds }, (_, i): Phase => ({ type: 'federated', round: i + 1 }));
  return spec.compareWithLocal ? [{ type: 'local' }, ...federated, { type: 'evaluate' }] : federated;
}

export function activeSites(spec: FedAvgSpec, round: number): readonly string[] {
  if (!spec.progressive) return spec.siteIds;
  const count = Math.min(spec.siteIds.length, spec.progressive.initialSites + (round - 1) * spec.progressive.addPerRound);
  return spec.siteIds.slice(0, count);
}

/** The schema checked each option's type; which options a strategy needs is checked here. */
function parseAggregation(spec: ValidatedFedAvgSpec['aggregation']): AggregationSpec {
  const { strategy, mu, trimFraction, clipNorm } = spec;
  let parsed: AggregationSpec;
  if (strategy === 'fedprox') {
    if (mu === undefined) throw new CoordinatorError('invalid_argument', 'aggregation.mu (FedProx μ) is required with strategy fedprox');
    parsed = { strategy, mu };
  } else if (strategy === 'trimmed-mean') {
    if (trimFraction === undefined) throw new CoordinatorError('invalid_argument', 'aggregation.trimFraction is required with strategy trimmed-mean');
    parsed = { strategy, trimFraction };
  } else parsed = { strategy } as AggregationSpec;
  if (clipNorm !== undefined) parsed = { ...parsed, clipNorm };
  createStrategy(parsed); // validates the options now rather than at round end
  return parsed;
}

const outcomeOf = (r: RoundRecord) => r.outcome as { [k: string]: Json };

export const fedAvgWorkflow: Workflow<FedAvgSpec> = {
  kind: 'fedavg',
  parse(raw: unknown, ctx: WorkflowContext): FedAvgSpec {
    const spec = raw as ValidatedFedAvgSpec;
    const siteIds = siteList(spec.sites, ctx);
    const minSites = spec.minSites ?? siteIds.length;
    const progressive = spec.progressive ? { initialSites: spec.progressive.initialSites, addPerRound: spec.progressive.addPerRound } : null;
    const smallestRound = progressive ? Math.min(siteIds.length, progressive.initialSites) : siteIds.length;
    if (minSites > smallestRound) throw new CoordinatorError('invalid_argument', `minSites ${minSites} exceeds the ${smallestRound} site(s) in the smallest round`);
    const initialModel = spec.initialModel === undefined || spec.initialModel === null ? null : modelHash(spec.initialModel, 'initialModel', ctx);
    const aggregation = parseAggregation(spec.aggregation);
    // Sites initialise round 1 themselves when there is no initial model: there would be nothing to measure its updates from.
    if (aggregation.clipNorm !== undefined && initialModel === null) throw new CoordinatorError('invalid_argument', "aggregation.clipNorm measures each update from the round's starting model: name an initialModel");
    return {
      siteIds,
      rounds: spec.rounds,
      localEpochs: spec.localEpochs,
      architecture: architecture(spec.architecture),
      initialModel,
      config: { ...spec.config },
      aggregation,
      minSites,
      progressive,
      compareWithLocal: spec.compareWithLocal,
      limits: taskLimits(spec),
      inference: spec.inference ?? null,
    };
  },

  next(spec: FedAvgSpec, finished: readonly RoundRecord[]): NextStep {
    const plan = phases(spec);
    const phase = plan[finished.length];
    const federatedRounds = finished.filter((r) => r.name.startsWith('federated-'));
    const globalModel = federatedRounds.length > 0 ? (outcomeOf(federatedRounds.at(-1)!)['model'] as string) : spec.initialModel;
    if (!phase) return { type: 'done', summary: summary(spec, finished, globalModel) };
    const train = (siteIds: readonly string[], initialModel: string | null, config: Record<string, string | number | boolean>): TaskPlan[] =>
      siteIds.map((siteId) => ({ siteId, kind: 'train', payload: { architecture: spec.architecture, initialModel, config }, ...spec.limits }));
    switch (phase.type) {
      case 'local':
        // Same epoch budget as the whole federation, from the same starting weights, no proximal term.
        return { type: 'round', name: 'local-baselines', minSites: spec.minSites, tasks: train(spec.siteIds, spec.initialModel, { ...spec.config, epochs: spec.rounds * spec.localEpochs }) };
      case 'federated':
        return { type: 'round', name: `federated-${phase.round}`, minSites: spec.minSites, tasks: train(activeSites(spec, phase.round), globalModel, createStrategy(spec.aggregation).configure({ ...spec.config, epochs: spec.localEpochs, round: phase.round })) };
      case 'evaluate':
        return { type: 'round', name: 'evaluate', minSites: spec.minSites, tasks: evaluationTasks(comparedModels(finished, globalModel), spec.siteIds, spec.limits, spec.inference) };
    }
  },

  async completeRound(spec: FedAvgSpec, finished: FinishedRound, ctx: WorkflowContext): Promise<Json> {
    const { round, results, tasks } = finished;
    const siteName = (id: string) => ctx.site(id)?.name ?? id;
    const excluded = tasks.filter((t) => t.status === 'excluded').map((t) => ({ site: siteName(t.siteId), reason: t.excludedReason }));
    if (round.name === 'evaluate') {
      const models = comparedModels(ctx.jobRounds(round.jobId).filter((r) => r.status === 'completed'), null);
      return crossSiteMatrix(models, finished, siteName) as unknown as Json;
    }
    const origin = `fedavg:${round.jobId}:${round.name}`;
    const hashes: string[] = [];
    for (const r of results) hashes.push(await acceptResultModel(r, spec.architecture, origin, ctx));
    if (round.name === 'local-baselines') {
      return { models: results.map((r, i) => ({ label: `local:${siteName(r.siteId)}`, hash: hashes[i]!, trainedAt: [siteName(r.siteId)] })), excluded };
    }
    // The round's starting model, when updates are clipped: what each site's update is measured from.
    const startHash = spec.aggregation.clipNorm === undefined ? null : (tasks[0]!.payload as { initialModel: string }).initialModel;
    const readers = await openAll(startHash === null ? hashes : [...hashes, startHash], ctx);
    try {
      // Every result was checked against the architecture's layout on arrival (result-validation.ts).
      const stored = results.map((r, i) => storedUpdate(siteName(r.siteId), r.numExamples, readers[i]!));
      const clipping = startHash === null ? null : await clipUpdates(stored, readers.at(-1)!, spec.aggregation.clipNorm!);
      const model = await storeAggregate(readers[0]!.header, createStrategy(spec.aggregation), clipping?.updates ?? stored, origin, ctx);
      return {
        model,
        strategy: spec.aggregation.strategy,
        participants: results.map((r, i) => ({
          site: siteName(r.siteId),
          numExamples: r.numExamples,
          metrics: r.metrics,
          ...(clipping ? { updateNorm: clipping.norms[i]!, clipped: clipping.norms[i]! > spec.aggregation.clipNorm! } : {}),
        })),
        excluded,
      };
    } finally {
      await Promise.all(readers.map((r) => r.close()));
    }
  },
};

/** The federated model (latest aggregate, trained at every site that took part in a round) and every single-centre baseline. */
function comparedModels(finished: readonly RoundRecord[], globalModel: string | null): ModelRef[] {
  const federated = finished.filter((r) => r.name.startsWith('federated-'));
  const latest = globalModel ?? (outcomeOf(federated.at(-1)!)['model'] as string);
  const trainedAt = [...new Set(federated.flatMap((r) => (outcomeOf(r)['participants'] as { site: string }[]).map((p) => p.site)))].sort();
  const local = finished.find((r) => r.name === 'local-baselines');
  const locals = local ? (outcomeOf(local)['models'] as unknown as ModelRef[]) : [];
  return [{ label: 'federated', hash: latest, trainedAt }, ...locals];
}

function summary(spec: FedAvgSpec, finished: readonly RoundRecord[], finalModel: string | null): Json {
  const rounds = finished
    .filter((r) => r.name.startsWith('federated-'))
    .map((r) => ({ round: r.name, model: outcomeOf(r)['model']!, participants: outcomeOf(r)['participants']!, excluded: outcomeOf(r)['excluded']! }));
  const evaluation = finished.find((r) => r.name === 'evaluate');
  if (!evaluation) return { finalModel, strategy: spec.aggregation.strategy, rounds };
  const matrix = evaluation.outcome as unknown as CrossSiteMatrix;
  const comparison = centreComparison(matrix, comparedModels(finished, finalModel));
  return { finalModel, strategy: spec.aggregation.strategy, rounds, matrix: evaluation.outcome, comparison } as unknown as Json;
}
