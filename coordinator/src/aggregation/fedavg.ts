import { CoordinatorError } from '../errors.js';
import { collectAggregate, streamChunks } from './coordinatewise.js';
import { assertFinite } from './validate.js';
import { weightedMeanInto } from '@lgefed/shared/model/weighted-mean';
import type { AggregationStrategy, ClientUpdate, TrainingConfig } from './strategy.js';

export interface FedAvgOptions {
  /** FedProx proximal term μ (Li et al. 2020), applied by each site during local training; 0 = plain FedAvg. */
  readonly proximalMu?: number;
  readonly chunk?: number;
}

/**
 * Weighted mean, weights ∝ training cases (McMahan et al. 2017), computed one coordinate range at a
 * time across all sites in float64 (`weightedMeanInto`, shared with the experiments' federated
 * arm), so the result does not depend on the chunk size.
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
    const weights = updates.map((u) => u.numExamples);
    let sums = new Float64Array(0);
    let out = new Float32Array(0);
    // Values are not checked one by one: a NaN or infinity anywhere makes its mean non-finite, and
    // only then are the chunk's values searched for the site that sent it.
    return streamChunks(
      updates,
      (slices, length, start) => {
        if (sums.length < length) sums = new Float64Array(length);
        if (out.length !== length) out = new Float32Array(length);
        if (weightedMeanInto(out, slices, weights, length, sums) !== 0) {
          slices.forEach((v, s) => assertFinite(updates[s]!, v, start));
          throw new CoordinatorError('aggregation_failed', `the weighted mean of parameters ${start}..${start + length - 1} is not finite`);
        }
        return out;
      },
      sink,
      { chunk: options.chunk, checkEach: false },
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

