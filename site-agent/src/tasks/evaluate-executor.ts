import type { SiteTask } from '../assignment.js';
import { resolveArchitecture } from '../architecture.js';
import { STRUCTURES } from '@lgefed/shared/types';
import { aggregatesOf, wireStructure } from './aggregate-metrics.js';
import { workerTimings, type Executor } from './executor.js';
import { runTask, TaskFailure } from './run-task.js';

/** Scores one model on the site's test split: per-case scores and aggregates (the policy decides which leave). */
export const evaluateExecutor: Executor<Extract<SiteTask, { kind: 'evaluate' }>> = async (task, context) => {
  const a = context.assignment;
  const weights = context.model(a.model.modelId);
  if (!weights) throw new TaskFailure('ModelMissing', `model ${a.model.modelId} was not received`, true);
  const output = await runTask(
    { kind: 'evaluate', ...context.datasetInput, caseIds: context.dataset.split.test, spec: resolveArchitecture(a.model.architecture.name), weights, inference: task.inference },
    context.onProgress,
    context.signal,
  );
  const cases = output.cases.map((c) => ({
    caseRef: c.ref,
    structures: STRUCTURES.map((s) => ({ structure: wireStructure(s), dice: c.scores[s].dice, hd95Mm: c.scores[s].hd95Mm ?? 0, predictedVolumeMl: c.scores[s].predictedMl, referenceVolumeMl: c.scores[s].trueMl })),
  }));
  return {
    result: () => ({
      type: 'EvaluationResult',
      message: { jobId: a.jobId, taskId: a.taskId, round: a.round, siteId: context.siteId, model: a.model, cases, aggregates: aggregatesOf(output.cases), timings: workerTimings(output) },
    }),
  };
};
