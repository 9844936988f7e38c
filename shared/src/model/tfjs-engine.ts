/** The tfjs U-Net (whatever backend is active) as a probability engine: the fallback when no native runtime loads. */
import * as tf from '@tensorflow/tfjs-core';
import type { ProbabilityEngine } from './probability-engine.js';
import type { UNet } from './unet.js';

export class TfjsProbabilityEngine implements ProbabilityEngine {
  readonly classes: number;

  constructor(
    private readonly model: UNet,
    readonly name: string,
  ) {
    this.classes = model.spec.classes;
  }

  async probabilities(images: Float32Array, n: number, size: number): Promise<Float32Array> {
    const probabilities = tf.tidy(() => tf.softmax(this.model.forward(tf.tensor4d(images, [n, size, size, 1]), [0]).get(0)!));
    try {
      return (await probabilities.data()) as Float32Array;
    } finally {
      probabilities.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}
