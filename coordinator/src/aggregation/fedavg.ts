import { CoordinatorError } from '../errors.js';
import { collectAggregate, streamChunks } from './coordinatewise.js';
import { assertFinite } from './validate.js';
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
    const last = updates.length - 1;
    let sums = new Float64Array(0);
    let out = new Float32Array(0);
    // Site by site over the whole chunk (one tight loop per site, not a call per coordinate): the
    // first site's loop starts the float64 sums, the last one's finishes the mean, so the same sums
    // in the same site order as a per-coordinate loop, in one pass per site. Values are not checked
    // one by one: a NaN or infinity anywhere makes its mean non-finite, and only then are the
    // chunk's values searched for the site that sent it.
    return streamChunks(
      updates,
      (slices, length, start) => {
        if (sums.length < length) sums = new Float64Array(length);
        if (out.length !== length) out = new Float32Array(length);
        for (let s = 0; s < last; s++) {
          const values = slices[s]!;
          const weight = updates[s]!.numExamples;
          if (s === 0) for (let i = 0; i < length; i++) sums[i] = weight * values[i]!;
          else for (let i = 0; i < length; i++) sums[i]! += weight * values[i]!;
        }
        const values = slices[last]!;
        const weight = updates[last]!.numExamples;
        // mean − mean is 0 for every finite mean and NaN otherwise.
        let guard = 0;
        for (let i = 0; i < length; i++) {
          const mean = ((last === 0 ? 0 : sums[i]!) + weight * values[i]!) / total;
          guard += mean - mean;
          out[i] = mean;
        }
        if (guard !== 0) {
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
