import type { AggregateMetrics, FineTuneResult, HarmonisationReport } from '@lgefed/protocol';
import { STRUCTURES } from '@lgefed/shared/types';
import { RELEASE_MECHANISM, type FinetuneResultMetrics, type HarmonisationCheckResultMetrics, type StructureSummaries } from '../workflow/task-payloads.js';
import { TransportError } from './wire.js';

/**
 * Results on the wire mapped back onto the engine's result contract (task-payloads.ts). Only the
 * shape changes here; whether the values are sound is for result-validation.ts to judge.
 */

/** n / mean / sd of Dice per structure from a result's aggregates; every structure must be there. */
export function structureSummaries(aggregates: readonly AggregateMetrics[], what: string): StructureSummaries {
  const out: Partial<Record<(typeof STRUCTURES)[number], { n: number; mean: number; sd: number }>> = {};
  for (const structure of STRUCTURES) {
    const a = aggregates.find((x) => x.structure === `STRUCTURE_${structure.toUpperCase()}`);
    if (!a) throw new TransportError('unexpected_message', `${what} lacks ${structure}`);
    out[structure] = { n: a.caseCount, mean: a.meanDice, sd: a.stdDice };
  }
  return out as StructureSummaries;
}

export function fineTuneMetrics(result: FineTuneResult): FinetuneResultMetrics {
  return { trainCases: result.trainCaseCount, dice: structureSummaries(result.aggregates, `fine-tune result of task ${result.taskId}`) };
}

/** The site's histogram release as the engine's result contract. */
export function siteIntensityReport(report: HarmonisationReport): HarmonisationCheckResultMetrics {
  const { normalisation, noisedHistogram, quantileTable, privacy, distances } = report;
  if (privacy.mechanism !== RELEASE_MECHANISM) throw new TransportError('unexpected_message', `harmonisation report of task ${report.taskId} names privacy mechanism ${JSON.stringify(privacy.mechanism)}`);
  return {
    normalisation: { lowerPercentile: normalisation.lowerPercentile, upperPercentile: normalisation.upperPercentile },
    histogram: { low: noisedHistogram.low, high: noisedHistogram.high, counts: [...noisedHistogram.counts] },
    quantiles: { probabilities: [...quantileTable.probabilities], values: [...quantileTable.values] },
    privacy: { mechanism: RELEASE_MECHANISM, epsilon: privacy.epsilon, sensitivity: privacy.sensitivity, scale: privacy.scale },
    distances: { wasserstein1: distances.wasserstein1, jensenShannon: distances.jensenShannon },
  };
}
