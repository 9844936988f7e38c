import type { ModelStore } from '../model-store.js';
import type { Site } from '../store/sites.js';
import type { Json, ModelVersion, ResultRecord, RoundRecord, TaskPlan, TaskRecord } from '../store/jobs.js';

/** The next step a workflow asks for, decided only from its spec and the rounds already finished. */
export type NextStep =
  | { readonly type: 'round'; readonly name: string; readonly minSites: number; readonly tasks: readonly TaskPlan[] }
  | { readonly type: 'done'; readonly summary: Json };

/** Everything a finished round produced, for the workflow to turn into that round's outcome. */
export interface FinishedRound {
  readonly round: RoundRecord;
  readonly tasks: readonly TaskRecord[];
  /** Results of completed tasks only; excluded sites appear in `tasks` with their reason. */
  readonly results: readonly ResultRecord[];
}

export interface WorkflowContext {
  readonly models: ModelStore;
  /** Records a model the workflow produced (e.g. an aggregate) so later tasks may reference it. */
  registerModel(hash: string, architecture: string, parameterCount: number, origin: string): void;
  /** A registered model by name or sha256. */
  model(ref: string): ModelVersion | undefined;
  site(id: string): Site | undefined;
  siteIdByName(name: string): string | undefined;
  /** The job's rounds so far (for outcomes that depend on earlier rounds). */
  jobRounds(jobId: string): readonly RoundRecord[];
}

/**
 * A job kind (NVFlare's "controller"): schedules rounds of tasks over sites. `next` must be a pure
 * function of the spec and the finished rounds' outcomes so that a restarted coordinator continues
 * exactly where it stopped.
 */
export interface Workflow<Spec = unknown> {
  readonly kind: string;
  /** Validates a submitted spec; throws CoordinatorError('invalid_argument') with the reason. */
  parse(spec: unknown, ctx: WorkflowContext): Spec;
  next(spec: Spec, finished: readonly RoundRecord[]): NextStep;
  /** Turns a round's results into its stored outcome (aggregate, metrics table, …). */
  completeRound(spec: Spec, round: FinishedRound, ctx: WorkflowContext): Promise<Json>;
}
