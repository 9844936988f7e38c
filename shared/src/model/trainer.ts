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
import { unetLossAndGradients } from './unet-backprop.js';
import { AdamOptimizer, type AdamState } from './adam.js';

export interface TrainerOptions {
  /** Adam learning rate; the study uses 1e-3. */
  readonly learningRate: number;
  readonly freeze?: FreezeOptions;
  /**
   * FedProx (Li et al. 2020): adds (μ/2)·‖w − w₀‖² to the objective, w₀ the weights the trainer
   * started from (the round's global model), so the gradient gains μ·(w − w₀). 0 or absent: off.
   */
  readonly proximalMu?: number;
}

export class UNetTrainer {
  private readonly optimizer: AdamOptimizer;
  /** Trainable parameter names. */
  private readonly trainable: Set<string>;
  private readonly levels: { level: number; weight: number }[];
  private readonly proximalMu: number;
  /** w₀ of the trainable parameters, kept only when the proximal term is on. */
  private readonly anchor = new Map<string, tf.Tensor>();

  constructor(
    private readonly model: UNet,
    options: TrainerOptions,
  ) {
    if (!(options.learningRate > 0) || !Number.isFinite(options.learningRate)) {
      throw new RangeError(`learningRate must be a positive number, got ${options.learningRate}`);
    }
    this.optimizer = new AdamOptimizer(options.learningRate);
    this.trainable = new Set(trainableParameters(model.spec, options.freeze));
    this.levels = supervisedLevels(model.spec);
    this.proximalMu = options.proximalMu ?? 0;
    if (!(this.proximalMu >= 0) || !Number.isFinite(this.proximalMu)) throw new RangeError(`proximalMu must be a finite number ≥ 0, got ${options.proximalMu}`);
    if (this.proximalMu > 0) for (const name of this.trainable) this.anchor.set(name, tf.keep(tf.clone(model.variable(name))));
  }

  /** The data gradient plus the proximal pull towards the starting weights. */
  private withProximalTerm(name: string, gradient: tf.Tensor): tf.Tensor {
    const anchor = this.anchor.get(name);
    return anchor ? tf.add(gradient, tf.mul(tf.sub(this.model.variable(name), anchor), this.proximalMu)) : gradient;
  }

  private trainableVariables(): Map<string, tf.Variable> {
    return new Map([...this.trainable].map((name) => [name, this.model.variable(name)]));
  }

  /** Adam's state over the trainable parameters, for a resumable checkpoint. */
  exportOptimizerState(): Promise<AdamState> {
    return this.optimizer.exportState(this.trainableVariables());
  }

  importOptimizerState(state: AdamState): void {
    this.optimizer.importState(state, this.trainableVariables());
  }

  /** Sets the Adam rate of the next steps (for a learning-rate schedule). */
  setLearningRate(learningRate: number): void {
    this.optimizer.setLearningRate(learningRate);
  }

  /** Trains on one batch and returns its loss (before the update). */
  async step(batch: Batch): Promise<number> {
    const { spec } = this.model;
    checkBatch(batch, spec.inputSize, spec.inChannels, spec.classes);
    const loss = tf.tidy(() => {
      const input = tf.tensor4d(batch.images, [batch.count, batch.size, batch.size, spec.inChannels]);
      const targets = this.levels.map(({ level }) => oneHotAtLevel(batch.labels, batch.count, batch.size, spec.classes, level));
      // Explicit backward pass (unet-backprop.ts): tfjs's tape would hold every activation and
      // gradient until the end of the step, more than wasm's 4 GiB for the paper network.
      const { loss, gradients } = unetLossAndGradients(
        this.model,
        input,
        this.levels.map((l) => l.level),
        (heads) => {
          const terms = this.levels.map(({ level, weight }, i) => tf.mul(diceCrossEntropy(heads.get(level)!, targets[i]!), weight));
          return tf.addN(terms) as tf.Scalar;
        },
        this.trainable,
      );
      // Parameters without a gradient (the head of an unsupervised level) are left alone, as minimize() does.
      const updates = [...this.trainable].filter((name) => gradients[name] !== undefined);
      this.optimizer.applyGradients(updates.map((name) => ({ variable: this.model.variable(name), gradient: this.withProximalTerm(name, gradients[name]!) })));
      tf.dispose(Object.values(gradients));
      return loss;
    });
    const value = (await loss.data())[0]!;
    loss.dispose();
    if (!Number.isFinite(value)) throw new TrainingDivergedError(`loss became ${value}`);
    return value;
  }

  /** Loss of the full-resolution head on held-out slices, without updating anything. */
  async heldOutLoss(batch: Batch): Promise<number> {
    const { spec } = this.model;
    checkBatch(batch, spec.inputSize, spec.inChannels, spec.classes);
    const loss = tf.tidy(() => {
      const input = tf.tensor4d(batch.images, [batch.count, batch.size, batch.size, spec.inChannels]);
      return diceCrossEntropy(this.model.forward(input, [0]).get(0)!, oneHotAtLevel(batch.labels, batch.count, batch.size, spec.classes, 0));
    });
    const value = (await loss.data())[0]!;
    loss.dispose();
    return value;
  }

  dispose(): void {
    this.optimizer.dispose();
    tf.dispose([...this.anchor.values()]);
  }
}

export class TrainingDivergedError extends Error {
  override readonly name = 'TrainingDivergedError';
}
