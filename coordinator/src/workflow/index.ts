import { evaluateWorkflow } from './evaluate.js';
import { fedAvgWorkflow } from './fedavg.js';
import { trainWorkflow } from './train.js';
import type { Workflow } from './workflow.js';

export { JobEngine, type SiteResult, type SiteError, type EngineDeps } from './engine.js';
export type { TaskMessage, TaskTransport } from './transport.js';
export type { Workflow, NextStep, FinishedRound, WorkflowContext } from './workflow.js';

/** Every job kind this coordinator runs. */
export const WORKFLOWS: readonly Workflow<never>[] = [
  trainWorkflow('pretrain') as Workflow<never>,
  trainWorkflow('train') as Workflow<never>,
  evaluateWorkflow as Workflow<never>,
  fedAvgWorkflow as Workflow<never>,
];
