import type { SiteTask } from '../assignment.js';
import { PolicyRefusal } from '../errors.js';
import { type Executor } from './executor.js';
import { runTask, TaskFailure } from './run-task.js';

/**
 * The differentially private intensity report: ε was admitted against the per-release cap; it is
 * charged to the privacy ledger before any noise is drawn, and refused (and logged) beyond the budget.
 */
export const harmonisationExecutor: Executor<Extract<SiteTask, { kind: 'harmonisation-check' }>> = async (task, context) => {
  const a = context.assignment;
  const dataset = context.dataset.config.name;
  let epsilon: number;
  try {
    ({ epsilon } = await context.ledger.charge({ jobId: a.jobId, taskId: a.taskId, dataset, epsilon: task.epsilon }));
  } catch (err) {
    if (err instanceof PolicyRefusal) await context.audit.record('in', 'privacy.refused', a.taskId, `[${err.code}] ${err.message}`);
    throw err;
  }
  const output = await runTask({ kind: 'harmonisation-check', ...context.datasetInput, reference: task.reference, epsilon }, context.onProgress, context.signal);
  const { normalisation, histogram, quantiles, privacy, distances } = output.report;
  if (!distances) throw new TaskFailure('HarmonisationError', 'the report was built without the reference', false);
  return {
    result: () => ({
      type: 'HarmonisationReport',
      message: {
        jobId: a.jobId,
        taskId: a.taskId,
        siteId: context.siteId,
        dataset,
        caseCount: output.imagesProfiled,
        // Superseded by the fields below (integer counts cannot carry the noise).
        histogram: { binEdges: [], counts: [] },
        quantiles: [],
        referenceId: '',
        distanceMetric: '',
        distance: 0,
        withinTolerance: false,
        normalisation,
        noisedHistogram: { low: histogram.low, high: histogram.high, counts: [...histogram.counts] },
        quantileTable: { probabilities: [...quantiles.probabilities], values: [...quantiles.values] },
        privacy,
        distances,
      },
    }),
  };
};
