import { CoordinatorError } from '../errors.js';
import { collectAggregate, streamChunks } from './coordinatewise.js';
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
    let sums = new Float64Array(0);
    // Site by site over the whole chunk (one tight loop per site, not a call per coordinate); the
    // same float64 sums in the same site order as a per-coordinate loop, so the same result.
    return streamChunks(
      updates,
      (slices, length) => {
        if (sums.length < length) sums = new Float64Array(length);
        const sum = sums.subarray(0, length);
        sum.fill(0);
        slices.forEach((values, s) => {
          const weight = updates[s]!.numExamples;
          for (let i = 0; i < length; i++) sum[i]! += weight * values[i]!;
        });
        const out = new Float32Array(length);
        for (let i = 0; i < length; i++) out[i] = sum[i]! / total;
        return out;
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
