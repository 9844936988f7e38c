import { CoordinatorError } from '../errors.js';
import { DEFAULT_CHUNK, type AggregationStrategy, type ClientUpdate, type TrainingConfig } from './strategy.js';
import { assertFinite, commonParameterCount } from './validate.js';

/**
 * Running weighted mean over updates added one at a time: memory is one model-sized float64
 * accumulator however many sites contribute (McMahan et al. 2017, weights ∝ training cases).
 */
export class StreamingWeightedMean {
  private readonly sum: Float64Array;
  private totalWeight = 0;
  private contributors = 0;

  constructor(readonly parameterCount: number) {
    this.sum = new Float64Array(parameterCount);
  }

  async add(update: ClientUpdate, chunk = DEFAULT_CHUNK): Promise<void> {
    if (update.parameterCount !== this.parameterCount) {
      throw new CoordinatorError('aggregation_failed', `site ${update.siteId} sent ${update.parameterCount} parameters, expected ${this.parameterCount}`);
    }
    if (!Number.isFinite(update.numExamples) || update.numExamples <= 0) {
      throw new CoordinatorError('aggregation_failed', `site ${update.siteId} reported ${update.numExamples} training cases; FedAvg needs a positive count`);
    }
    const w = update.numExamples;
    for (let start = 0; start < this.parameterCount; start += chunk) {
      const values = await update.read(start, Math.min(chunk, this.parameterCount - start));
      assertFinite(update, values, start);
      for (let i = 0; i < values.length; i++) this.sum[start + i]! += w * values[i]!;
    }
    this.totalWeight += w;
    this.contributors += 1;
  }

  get count(): number {
    return this.contributors;
  }

  result(): Float32Array {
    if (this.contributors === 0) throw new CoordinatorError('aggregation_failed', 'no site updates to aggregate');
    const out = new Float32Array(this.parameterCount);
    for (let i = 0; i < out.length; i++) out[i] = this.sum[i]! / this.totalWeight;
    return out;
  }
}

export interface FedAvgOptions {
  /** FedProx proximal term μ (Li et al. 2020), applied by each site during local training; 0 = plain FedAvg. */
  readonly proximalMu?: number;
  readonly chunk?: number;
}

export function fedAvg(options: FedAvgOptions = {}): AggregationStrategy {
  const mu = options.proximalMu ?? 0;
  if (!Number.isFinite(mu) || mu < 0) throw new CoordinatorError('invalid_argument', `FedProx μ must be ≥ 0, got ${mu}`);
  return {
    name: mu > 0 ? 'fedprox' : 'fedavg',
    configure(base: TrainingConfig): TrainingConfig {
      return mu > 0 ? { ...base, proximalMu: mu } : base;
    },
    async aggregate(updates: readonly ClientUpdate[]): Promise<Float32Array> {
      const mean = new StreamingWeightedMean(commonParameterCount(updates));
      for (const update of updates) await mean.add(update, options.chunk);
      return mean.result();
    },
  };
}
