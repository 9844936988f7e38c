import { CoordinatorError } from '../errors.js';
import { fedAvg } from './fedavg.js';
import { coordinateMedian } from './median.js';
import type { AggregationStrategy } from './strategy.js';
import { trimmedMean } from './trimmed-mean.js';

export * from './strategy.js';
export { fedAvg, type FedAvgOptions } from './fedavg.js';
export { streamCoordinatewise, collectAggregate, type CoordinateCombiner } from './coordinatewise.js';
export { coordinateMedian } from './median.js';
export { trimmedMean } from './trimmed-mean.js';
export { inMemoryUpdate, storedUpdate } from './updates.js';
export { clipUpdates, type ClippedUpdates, type RoundStart } from './clipping.js';

/** How a job spec names its aggregation; `clipNorm` bounds each site's update first (clipping.ts). */
export type AggregationSpec = (
  | { readonly strategy: 'fedavg' }
  | { readonly strategy: 'fedprox'; readonly mu: number }
  | { readonly strategy: 'median' }
  | { readonly strategy: 'trimmed-mean'; readonly trimFraction: number }
) & { readonly clipNorm?: number };

export function createStrategy(spec: AggregationSpec): AggregationStrategy {
  switch (spec.strategy) {
    case 'fedavg':
      return fedAvg();
    case 'fedprox':
      return fedAvg({ proximalMu: spec.mu });
    case 'median':
      return coordinateMedian();
    case 'trimmed-mean':
      return trimmedMean({ trimFraction: spec.trimFraction });
    default:
      throw new CoordinatorError('invalid_argument', `unknown aggregation strategy ${JSON.stringify((spec as { strategy: unknown }).strategy)}`);
  }
}
