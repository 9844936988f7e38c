import type { SiteTask } from '../assignment.js';
import { resolveArchitecture } from '../architecture.js';
import { aggregatesOf } from './aggregate-metrics.js';
import { lossCurve, workerTimings, type Executor } from './executor.js';
import { runTask } from './run-task.js';

/** Fine-tunes (or trains from scratch) and scores at the site; the model stays, only the scores go back. */
export const finetuneExecutor: Executor<Extract<SiteTask, { kind: 'finetune' }>> = async (task, context) => {
  const a = context.assignment;
  const initial = a.model.modelId ? context.model(a.model.modelId) : undefined;
  const output = await runTask(
    {
      kind: 'finetune',
      ...context.datasetInput,
      caseIds: context.dataset.split.train,
      testCaseIds: context.dataset.split.test,
      spec: resolveArchitecture(a.model.architecture.name),
      ...(initial ? { initialWeights: initial } : {}),
      training: task.training,
      freeze: task.freeze,
      inference: task.inference,
    },
    context.onProgress,
    context.signal,
    context.log,
  );
  return {
    result: () => ({
      type: 'FineTuneResult',
      message: {
        jobId: a.jobId,
        taskId: a.taskId,
        round: a.round,
        siteId: context.siteId,
        baseModel: a.model,
        trainCaseCount: output.casesUsed,
        trainedBlocks: output.trainedBlocks,
        lossCurve: lossCurve(output.epochLosses),
        aggregates: aggregatesOf(output.cases),
        timings: workerTimings(output),
      },
    }),
  };
};
