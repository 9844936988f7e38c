import type { MessageTypes, ModelPackage, TaskAssignment } from '@lgefed/protocol';
import type { NamedTensor } from '@lgefed/shared/model/weights';
import type { SiteTask } from '../assignment.js';
import type { AgentAuditLog } from '../audit-log.js';
import type { RegisteredDataset } from '../datasets.js';
import type { PrivacyLedger } from '../privacy/ledger.js';
import type { TaskProgress } from './run-task.js';
import type { DatasetInput } from './task-protocol.js';

/**
 * One task kind's executor (as NVFlare's executors, Flower's client app): it runs the admitted task
 * in a worker thread and says what should go back. It never touches the connection: the agent
 * passes its outcome through the site's policy filter, then signs, logs and sends it.
 */
export type Executor<T extends SiteTask> = (task: T, context: ExecutionContext) => Promise<Outcome>;

/** What an executor may use of the agent. */
export interface ExecutionContext {
  readonly siteId: string;
  readonly assignment: TaskAssignment;
  readonly dataset: RegisteredDataset;
  /** Where a worker finds the dataset, and the engine it uses. */
  readonly datasetInput: DatasetInput;
  /** The weights of a model this site has received, by model id. */
  model(modelId: string): NamedTensor[] | undefined;
  readonly onProgress: (progress: TaskProgress) => void;
  /** The site's own log (what the agent prints), never the coordinator. */
  readonly log: (line: string) => void;
  readonly signal: AbortSignal;
  readonly ledger: PrivacyLedger;
  readonly audit: AgentAuditLog;
}

export type ResultType = 'TrainResult' | 'EvaluationResult' | 'FineTuneResult' | 'HarmonisationReport';
export type OutboundResult = { [K in ResultType]: { readonly type: K; readonly message: MessageTypes[K] } }[ResultType];

export interface Outcome {
  /** Weights to upload before the result, and how many cases trained them (checked against the policy first). */
  readonly weights?: { readonly package: ModelPackage; readonly casesUsed: number };
  /** The result message; `uploadS` is how long the weights took to upload (0 without weights). */
  result(uploadS: number): OutboundResult;
}

/** Timings of a task that uploads nothing. */
export function workerTimings(output: { readonly dataLoadS: number; readonly computeS: number }): MessageTypes['TrainResult']['timings'] {
  return { queuedS: 0, dataLoadS: output.dataLoadS, computeS: output.computeS, uploadS: 0, totalS: output.dataLoadS + output.computeS };
}

/** A worker's per-epoch losses as the wire's loss curve. */
export function lossCurve(epochLosses: readonly number[]): MessageTypes['TrainResult']['lossCurve'] {
  return epochLosses.map((loss, i) => ({ epoch: i + 1, step: 0, trainLoss: loss, validationLoss: 0 }));
}
