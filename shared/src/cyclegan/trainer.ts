/**
 * One CycleGAN training step (Zhu et al. 2017) on the current tfjs backend: least-squares GAN
 * losses, cycle consistency and identity terms for the two generators, then the discriminators on
 * the translations just made. Runs inside the CycleGAN worker; `trainCycleGan` is the API.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ImagePool } from './image-pool.js';
import type { CycleGanNetworks } from './networks.js';

export interface CycleGanTrainerOptions {
  /** Adam step size (CycleGAN: 2e-4, β1 = 0.5). */
  readonly learningRate: number;
  /** Weight of the L1 cycle-consistency term (CycleGAN: 10). */
  readonly cycleWeight: number;
  /** Weight of the L1 identity term (CycleGAN: half the cycle weight); it keeps intensities anchored. */
  readonly identityWeight: number;
  /** Generated images kept per domain for the discriminators (CycleGAN: 50; 0 = none). */
  readonly imagePool?: number;
  /** Seeds the image pools. */
  readonly seed?: number;
}

export interface CycleGanStepLosses {
  /** Total generator loss (adversarial + cycle + identity). */
  readonly generator: number;
  /** Mean L1 cycle error of both directions (intensity units). */
  readonly cycle: number;
  /** Discriminator loss (sum of both domains). */
  readonly discriminator: number;
}

function meanSquaredFrom(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  const error = tf.sub(logits, target);
  return tf.mean(tf.mul(error, error));
}

function meanAbsolute(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.abs(tf.sub(a, b)));
}

export class CycleGanTrainer {
  private readonly generatorOptimizer: tf.AdamOptimizer;
  private readonly discriminatorOptimizer: tf.AdamOptimizer;
  private readonly generatorVariables: tf.Variable[];
  private readonly discriminatorVariables: tf.Variable[];
  private readonly pools: { toReference: ImagePool; toSite: ImagePool };

  constructor(
    private readonly networks: CycleGanNetworks,
    private readonly options: CycleGanTrainerOptions,
  ) {
    if (!(options.learningRate > 0 && Number.isFinite(options.learningRate))) throw new RangeError(`learningRate must be positive, got ${options.learningRate}`);
    for (const field of ['cycleWeight', 'identityWeight'] as const) {
      if (!(options[field] >= 0 && Number.isFinite(options[field]))) throw new RangeError(`${field} must be a non-negative number, got ${options[field]}`);
    }
    this.generatorOptimizer = tf.train.adam(options.learningRate, 0.5);
    this.discriminatorOptimizer = tf.train.adam(options.learningRate, 0.5);
    this.generatorVariables = networks.variablesUnder('gen.');
    this.discriminatorVariables = networks.variablesUnder('disc.');
    const seed = options.seed ?? 0;
    this.pools = { toReference: new ImagePool(options.imagePool ?? 0, seed * 2 + 101), toSite: new ImagePool(options.imagePool ?? 0, seed * 2 + 102) };
  }

  /** Both optimisers' step size (the linear decay of the schedule). */
  setLearningRate(rate: number): void {
    if (!(rate >= 0 && Number.isFinite(rate))) throw new RangeError(`learning rate must be a non-negative number, got ${rate}`);
    for (const optimizer of [this.generatorOptimizer, this.discriminatorOptimizer]) (optimizer as unknown as { learningRate: number }).learningRate = rate;
  }

  /** The fakes the discriminator sees: this step's, or through the image pool earlier ones. */
  private pooled(pool: ImagePool, fakes: tf.Tensor4D): tf.Tensor4D {
    if (pool.capacity === 0) return fakes;
    const values = pool.query(fakes.dataSync() as Float32Array, fakes.shape[0]);
    return tf.tensor4d(values, fakes.shape);
  }

  /** Trains on a batch of site patches and a batch of reference patches, both [n, p, p, 1] in [0, 1]. */
  async step(site: tf.Tensor4D, reference: tf.Tensor4D): Promise<CycleGanStepLosses> {
    const { networks: nets, options } = this;
    let translated: { toReference: tf.Tensor4D; toSite: tf.Tensor4D } | undefined;
    let cycle: tf.Scalar | undefined;
    const generatorLoss = tf.tidy(() =>
      this.generatorOptimizer.minimize(
        () => {
          const toReference = nets.generate('toReference', site);
          const toSite = nets.generate('toSite', reference);
          const adversarial = tf.add(meanSquaredFrom(nets.discriminate('reference', toReference), 1), meanSquaredFrom(nets.discriminate('site', toSite), 1));
          const cycleError = tf.mul(tf.add(meanAbsolute(nets.generate('toSite', toReference), site), meanAbsolute(nets.generate('toReference', toSite), reference)), 0.5);
          const terms = [adversarial, tf.mul(cycleError, 2 * options.cycleWeight)];
          // The identity term costs two more generator passes; skip them when it is switched off.
          if (options.identityWeight > 0) {
            const identity = tf.add(meanAbsolute(nets.generate('toReference', reference), reference), meanAbsolute(nets.generate('toSite', site), site));
            terms.push(tf.mul(identity, options.identityWeight));
          }
          // Kept for the discriminator step and the report; no gradient flows through them there.
          translated = { toReference: tf.keep(toReference), toSite: tf.keep(toSite) };
          cycle = tf.keep(cycleError) as tf.Scalar;
          return tf.addN(terms) as tf.Scalar;
        },
        true,
        this.generatorVariables,
      )!,
    );
    const fakes = { toReference: this.pooled(this.pools.toReference, translated!.toReference), toSite: this.pooled(this.pools.toSite, translated!.toSite) };
    const discriminatorLoss = tf.tidy(() =>
      this.discriminatorOptimizer.minimize(
        () =>
          tf.mul(
            tf.addN([
              meanSquaredFrom(nets.discriminate('reference', reference), 1),
              meanSquaredFrom(nets.discriminate('reference', fakes.toReference), 0),
              meanSquaredFrom(nets.discriminate('site', site), 1),
              meanSquaredFrom(nets.discriminate('site', fakes.toSite), 0),
            ]),
            0.5,
          ) as tf.Scalar,
        true,
        this.discriminatorVariables,
      )!,
    );
    const [g, c, d] = await Promise.all([generatorLoss.data(), cycle!.data(), discriminatorLoss.data()]);
    tf.dispose([generatorLoss, discriminatorLoss, cycle!, translated!.toReference, translated!.toSite, fakes.toReference, fakes.toSite]);
    const losses = { generator: g[0]!, cycle: c[0]!, discriminator: d[0]! };
    if (!Object.values(losses).every(Number.isFinite)) throw new CycleGanDivergedError(`losses became ${JSON.stringify(losses)}`);
    return losses;
  }

  dispose(): void {
    this.generatorOptimizer.dispose();
    this.discriminatorOptimizer.dispose();
  }
}

export class CycleGanDivergedError extends Error {
  override readonly name = 'CycleGanDivergedError';
}
