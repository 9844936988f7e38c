import { packModel } from '@lgefed/protocol';
import type { SiteTask } from '../assignment.js';
import { resolveArchitecture } from '../architecture.js';
import { lossCurve, type Executor } from './executor.js';
import { runTask } from './run-task.js';

/** Local training (a FedAvg round or a single-centre baseline): the weights go back, then the TrainResult. */
export const trainExecutor: Executor<Extract<SiteTask, { kind: 'train' }>> = async (task, context) => {
  const a = context.assignment;
  const started = performance.now();
  const initial = a.model.modelId ? context.model(a.model.modelId) : undefined;
  const output = await runTask(
    { kind: 'train', ...context.datasetInput, caseIds: context.dataset.split.train, spec: resolveArchitecture(a.model.architecture.name), ...(initial ? { initialWeights: initial } : {}), training: task.training },
    context.onProgress,
    context.signal,
    context.log,
  );
  const computedS = (performance.now() - started) / 1000;
  const weights = packModel(output.weights, { modelId: '', architecture: { ...a.model.architecture, parameterCount: output.weights.reduce((n, t) => n + t.data.length, 0) } });
  return {
    weights: { package: weights, casesUsed: output.casesUsed },
    result: (uploadS) => ({
      type: 'TrainResult',
      message: {
        jobId: a.jobId,
        taskId: a.taskId,
        round: a.round,
        siteId: context.siteId,
        weightsKind: 'WEIGHTS_KIND_FULL',
        weightsTransferId: weights.manifest.transferId,
        weightsManifestSha256: weights.manifestSha256,
        baseModel: a.model,
        sampleCount: output.casesUsed,
        lossCurve: lossCurve(output.epochLosses),
        timings: { queuedS: 0, dataLoadS: output.dataLoadS, computeS: output.computeS, uploadS, totalS: computedS },
      },
    }),
  };
};
