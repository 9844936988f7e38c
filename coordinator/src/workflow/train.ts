import type { Json, RoundRecord } from '../store/jobs.js';
import { acceptResultModel } from './models.js';
import type { ValidatedTrainSpec } from './job-schemas.js';
import { architecture, enrolledSite, modelHash, taskLimits, type TaskLimits } from './spec.js';
import type { FinishedRound, NextStep, Workflow, WorkflowContext } from './workflow.js';

export interface TrainSpec {
  readonly siteId: string;
  readonly architecture: string;
  /** Weights to start from (pretrained or previous); null = the site initialises from config.seed. */
  readonly initialModel: string | null;
  readonly config: Record<string, string | number | boolean>;
  readonly limits: TaskLimits;
}

/**
 * Single-site training. `pretrain` and `train` share the flow; the kind is kept so the model's
 * origin says which it was.
 */
export function trainWorkflow(kind: 'train' | 'pretrain'): Workflow<TrainSpec> {
  return {
    kind,
    parse(raw: unknown, ctx: WorkflowContext): TrainSpec {
      const spec = raw as ValidatedTrainSpec;
      return {
        siteId: enrolledSite(spec.site, ctx),
        architecture: architecture(spec.architecture),
        initialModel: spec.initialModel === undefined || spec.initialModel === null ? null : modelHash(spec.initialModel, 'initialModel', ctx),
        config: { ...spec.config },
        limits: taskLimits(spec),
      };
    },
    next(spec: TrainSpec, finished: readonly RoundRecord[]): NextStep {
      if (finished.length > 0) return { type: 'done', summary: finished[0]!.outcome };
      const payload: Json = { architecture: spec.architecture, initialModel: spec.initialModel, config: spec.config };
      return { type: 'round', name: kind, minSites: 1, tasks: [{ siteId: spec.siteId, kind: 'train', payload, ...spec.limits }] };
    },
    async completeRound(spec: TrainSpec, round: FinishedRound, ctx: WorkflowContext): Promise<Json> {
      const result = round.results[0]!;
      const model = await acceptResultModel(result, spec.architecture, `${kind}:${round.round.jobId}`, ctx);
      return { model, siteId: result.siteId, numExamples: result.numExamples, metrics: result.metrics };
    },
  };
}
