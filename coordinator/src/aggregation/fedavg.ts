import { CoordinatorError } from '../errors.js';
import { collectAggregate, streamCoordinatewise } from './coordinatewise.js';
import type { AggregationStrategy, ClientUpdate, TrainingConfig } from './strategy.js';

export interface FedAvgOptions {
  /** FedProx proximal term μ (Li et al. 2020), applied by each site during local training; 0 = plain FedAvg. */
  readonly proximalMu?: number;
  readonly chunk?: number;
}

/**
 * Weighted mean, weights ∝ training cases (McMahan et al. 2017), computed one coordinate range at a
 * time across all sites in float64, so the result does not depend on the chunk size.
 */
export function fedAvg(options: FedAvgOptions = {}): AggregationStrategy {
  const mu = options.proximalMu ?? 0;
  if (!Number.isFinite(mu) || mu < 0) throw new CoordinatorError('invalid_argument', `FedProx μ must be ≥ 0, got ${mu}`);
  const stream: AggregationStrategy['stream'] = (updates, sink) => {
    for (const u of updates) {
      if (!Number.isFinite(u.numExamples) || u.numExamples <= 0) {
        throw new CoordinatorError('aggregation_failed', `site ${u.siteId} reported ${u.numExamples} training cases; FedAvg needs a positive count`);
      }
    }
    const total = updates.reduce((sum, u) => sum + u.numExamples, 0);
    const weights = Float64Array.from(updates, (u) => u.numExamples);
    return streamCoordinatewise(
      updates,
      (values) => {
        let sum = 0;
        for (let s = 0; s < values.length; s++) sum += weights[s]! * values[s]!;
        return sum / total;
      },
      sink,
      options.chunk,
    );
  };
  return {
    name: mu > 0 ? 'fedprox' : 'fedavg',
    configure(base: TrainingConfig): TrainingConfig {
      return mu > 0 ? { ...base, proximalMu: mu } : base;
    },
    stream,
    aggregate: (updates: readonly ClientUpdate[]) => collectAggregate((sink) => stream(updates, sink)),
  };
}
