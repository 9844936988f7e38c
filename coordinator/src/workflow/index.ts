import { evaluateWorkflow } from './evaluate.js';
import { fedAvgWorkflow } from './fedavg.js';
import { finetuneWorkflow } from './finetune.js';
import { harmonisationCheckWorkflow } from './harmonisation-check.js';
import { trainWorkflow } from './train.js';
import type { Workflow } from './workflow.js';

export { JobEngine, type SiteResult, type SiteError, type EngineDeps, type HandledResult } from './engine.js';
export type { TaskMessage, TaskTransport } from './transport.js';
export type { Workflow, NextStep, FinishedRound, WorkflowContext } from './workflow.js';
export * from './task-payloads.js';
export { parseSiteResult, MAX_METRICS_BYTES } from './result-validation.js';
export { centreComparison, type CentreComparison } from './comparison.js';
export { finetuneVariants, type FinetuneSpec, type FinetuneVariant } from './finetune.js';
export type { HarmonisationCheckSpec, SiteDistance } from './harmonisation-check.js';

/** Every job kind this coordinator runs. */
export const WORKFLOWS: readonly Workflow<never>[] = [
  trainWorkflow('pretrain') as Workflow<never>,
  trainWorkflow('train') as Workflow<never>,
  evaluateWorkflow as Workflow<never>,
  fedAvgWorkflow as Workflow<never>,
  harmonisationCheckWorkflow as Workflow<never>,
  finetuneWorkflow as Workflow<never>,
];
