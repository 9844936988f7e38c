/**
 * One training step of a U-Net on the current tfjs backend: forward on the supervised heads,
 * Dice + cross-entropy per head, Adam on the trainable (unfrozen) parameters only.
 * This runs inside the training worker; `trainModel` is the API callers use.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkBatch, type Batch } from './batches.js';
import { trainableParameters, type FreezeOptions } from './freeze.js';
import { diceCrossEntropy, oneHotAtLevel, supervisedLevels } from './loss.js';
import type { UNet } from './unet.js';

export interface TrainerOptions {
  /** Adam learning rate; the study uses 1e-3. */
  readonly learningRate: number;
  readonly freeze?: FreezeOptions;
}

export class UNetTrainer {
  private readonly optimizer: tf.AdamOptimizer;
  private readonly trainable: tf.Variable[];
  private readonly levels: { level: number; weight: number }[];

  constructor(
    private readonly model: UNet,
    options: TrainerOptions,
  ) {
    if (!(options.learningRate > 0) || !Number.isFinite(options.learningRate)) {
      throw new RangeError(`learningRate must be a positive number, got ${options.learningRate}`);
    }
    this.optimizer = tf.train.adam(options.learningRate);
    this.trainable = trainableParameters(model.spec, options.freeze).map((name) => model.variable(name));
    this.levels = supervisedLevels(model.spec);
  }

  /** Trains on one batch and returns its loss (before the update). */
  async step(batch: Batch): Promise<number> {
    const { spec } = this.model;
    checkBatch(batch, spec.inputSize, spec.inChannels, spec.classes);
    const loss = tf.tidy(() => {
      const input = tf.tensor4d(batch.images, [batch.count, batch.size, batch.size, spec.inChannels]);
      const targets = this.levels.map(({ level }) => oneHotAtLevel(batch.labels, batch.count, batch.size, spec.classes, level));
      return this.optimizer.minimize(
        () => {
          const heads = this.model.forward(input, this.levels.map((l) => l.level));
          const terms = this.levels.map(({ level, weight }, i) => tf.mul(diceCrossEntropy(heads.get(level)!, targets[i]!), weight));
          return tf.addN(terms) as tf.Scalar;
        },
        true,
        this.trainable,
      )!;
    });
    const value = (await loss.data())[0]!;
    loss.dispose();
    if (!Number.isFinite(value)) throw new TrainingDivergedError(`loss became ${value}`);
    return value;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

export class TrainingDivergedError extends Error {
  override readonly name = 'TrainingDivergedError';
}
