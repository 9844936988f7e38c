/**
 * Federated averaging over sites in one process, the counterpart of pooled training on identical
 * cases (Table 4's question for a federation: what does keeping the data at the sites cost?). Every
 * round, each site trains the global model on its own cases only (Adam restarts, as on a real
 * agent), and the average of the sites' weights, weighted by their case counts, becomes the next
 * global model (McMahan et al.; what the coordinator's FedAvg jobs compute over the wire). The total
 * number of iterations equals the pooled arm's, split evenly over rounds and sites.
 */
import { initialWeights } from '../model/weights.js';
import { modelId } from '../model/io.js';
import { weightedMeanInto } from '../model/weighted-mean.js';
import type { NamedTensor } from '../model/weights.js';
import type { Case } from '../types.js';
import type { LoadedModel } from '../workflows/model-files.js';
import { iterationsPerEpoch, trainArm, type ComputeOptions, type TrainArm } from './arms.js';
import { ExperimentError } from './errors.js';

export interface FederatedArm extends Omit<TrainArm, 'cases' | 'initial' | 'validation'> {
  /** Each site's training cases; they never mix. */
  readonly sites: readonly (readonly Case[])[];
  readonly rounds: number;
}

/** The case-count-weighted mean of the sites' weights (same names and shapes, canonical order), as the coordinator computes it. */
export function weightedAverage(models: readonly (readonly NamedTensor[])[], counts: readonly number[]): NamedTensor[] {
  if (models.length === 0 || models.length !== counts.length || !counts.every((c) => c > 0)) throw new ExperimentError('FedAvg needs at least one site with cases');
  return models[0]!.map((tensor, t) => {
    const values = models.map((weights, s) => {
      const other = weights[t]!;
      if (other.name !== tensor.name || other.data.length !== tensor.data.length) throw new ExperimentError(`FedAvg: site ${s} has ${other.name} where ${tensor.name} was expected`);
      return other.data;
    });
    const data = new Float32Array(tensor.data.length);
    if (weightedMeanInto(data, values, counts, data.length) !== 0) throw new ExperimentError(`FedAvg: ${tensor.name} averaged to a non-finite value`);
    return { ...tensor, data };
  });
}

export async function trainFederatedArm(arm: FederatedArm, options: ComputeOptions = {}): Promise<LoadedModel> {
  const sites = arm.sites.filter((cases) => cases.length > 0);
  if (sites.length === 0) throw new ExperimentError('FedAvg needs at least one site with cases');
  const { epochs, batchSize, iterations } = arm.training;
  const pooled = arm.iterations ?? (epochs !== undefined ? epochs * iterationsPerEpoch(sites.flat(), batchSize) : iterations);
  const local = Math.max(1, Math.round(pooled / (arm.rounds * sites.length)));
  const weights = initialWeights(arm.spec, arm.training.seed);
  let global: LoadedModel = { spec: arm.spec, weights, id: modelId(arm.spec, weights) };
  for (let round = 0; round < arm.rounds; round++) {
    const trained: LoadedModel[] = [];
    for (const [s, cases] of sites.entries()) {
      // Each site and round draws its own batches; all start from the same global weights. A round
      // trains on every case the site holds for the arm: no recipe validation split of its own
      // (the pooled arm's validation cases are the design's, not a share of each site's).
      const training = { ...arm.training, validationFraction: undefined, seed: arm.training.seed + 1000 * (round + 1) + s };
      trained.push(await trainArm({ ...arm, cases, training, iterations: local, initial: global }, options));
    }
    const averaged = weightedAverage(trained.map((m) => m.weights), sites.map((cases) => cases.length));
    global = { spec: arm.spec, weights: averaged, id: modelId(arm.spec, averaged) };
  }
  return global;
}
