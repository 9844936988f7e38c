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
    const weights = updates.map((u) => u.numExamples);
    let sums = new Float64Array(0);
    let out = new Float32Array(0);
    // Sites two at a time over the whole chunk (tight loops, not a call per coordinate): float64
    // sums in site order, as a per-coordinate loop would add them, the last pass dividing. Values
    // are not checked one by one: a NaN or infinity anywhere makes its mean non-finite, and only
    // then are the chunk's values searched for the site that sent it.
    return streamChunks(
      updates,
      (slices, length, start) => {
        if (sums.length < length) sums = new Float64Array(length);
        if (out.length !== length) out = new Float32Array(length);
        let site = 0;
        for (; slices.length - site > 2; site += 2) addPair(sums, site > 0, slices[site]!, weights[site]!, slices[site + 1]!, weights[site + 1]!, length);
        const guard = finishMean(out, site > 0 ? sums : undefined, slices[site]!, weights[site]!, slices[site + 1], weights[site + 1] ?? 0, total, length);
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

/** sums = (started ? sums : 0) + wa·a + wb·b, left to right. */
function addPair(sums: Float64Array, started: boolean, a: Float32Array, wa: number, b: Float32Array, wb: number, length: number): void {
  if (started) for (let i = 0; i < length; i++) sums[i] = sums[i]! + wa * a[i]! + wb * b[i]!;
  else for (let i = 0; i < length; i++) sums[i] = wa * a[i]! + wb * b[i]!;
}

/**
 * out = ((sums) + wa·a (+ wb·b)) / total; returns the sum of mean − mean, which is 0 when every
 * mean is finite and NaN otherwise.
 */
function finishMean(out: Float32Array, sums: Float64Array | undefined, a: Float32Array, wa: number, b: Float32Array | undefined, wb: number, total: number, length: number): number {
  let guard = 0;
  if (sums && b) {
    for (let i = 0; i < length; i++) {
      const mean = (sums[i]! + wa * a[i]! + wb * b[i]!) / total;
      guard += mean - mean;
      out[i] = mean;
    }
  } else if (sums) {
    for (let i = 0; i < length; i++) {
      const mean = (sums[i]! + wa * a[i]!) / total;
      guard += mean - mean;
      out[i] = mean;
    }
  } else if (b) {
    for (let i = 0; i < length; i++) {
      const mean = (wa * a[i]! + wb * b[i]!) / total;
      guard += mean - mean;
      out[i] = mean;
    }
  } else {
    for (let i = 0; i < length; i++) {
      const mean = (wa * a[i]!) / total;
      guard += mean - mean;
      out[i] = mean;
    }
  }
  return guard;
}
