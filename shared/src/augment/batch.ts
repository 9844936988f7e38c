import { Augmenter } from './augmenter.js';
import { AugmentationError } from './errors.js';
import type { AugmentationPreset } from './presets.js';
import { Prng } from './prng.js';
import { validateSample, type SpacedSlice } from './sample.js';

/** N augmented slices, stacked: images[k * h * w + y * w + x], same layout for labels. */
export interface TrainingBatch {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly n: number;
  readonly h: number;
  readonly w: number;
}

/** What a trainer pulls batches from. */
export interface BatchProvider {
  /** Batches that cover every sample once (the last may wrap into the next epoch's order). */
  readonly batchesPerEpoch: number;
  nextBatch(): Promise<TrainingBatch>;
  /** Releases threads; nextBatch() fails afterwards. */
  close(): Promise<void>;
}

export interface BatchOptions {
  readonly preset: AugmentationPreset | string;
  readonly seed: number;
  readonly batchSize: number;
  readonly outputWidth: number;
  readonly outputHeight: number;
}

export function validateBatchInputs(samples: readonly SpacedSlice[], options: BatchOptions): void {
  if (samples.length === 0) throw new AugmentationError('no samples to draw batches from');
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new AugmentationError(`batch size must be a positive integer, got ${options.batchSize}`);
  }
  samples.forEach((sample, i) => validateSample(sample, `sample ${i}`));
}

/**
 * Draws batches synchronously: samples in a fresh shuffled order each epoch, each augmented.
 * Deterministic in the seed; the prefetching provider runs one of these in a worker thread.
 */
export class BatchAssembler {
  private readonly augmenter: Augmenter;
  private readonly order: Prng;
  private epochOrder: number[] = [];
  private cursor = 0;

  constructor(
    private readonly samples: readonly SpacedSlice[],
    private readonly options: BatchOptions,
  ) {
    if (samples.length === 0) throw new AugmentationError('no samples to draw batches from');
    this.augmenter = new Augmenter(options.preset, {
      seed: options.seed,
      outputWidth: options.outputWidth,
      outputHeight: options.outputHeight,
    });
    // A separate stream for the order, so the sample order does not depend on which operators fired.
    this.order = new Prng((options.seed ^ 0x5bd1e995) | 0);
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.samples.length / this.options.batchSize);
  }

  next(): TrainingBatch {
    const { batchSize: n, outputWidth: w, outputHeight: h } = this.options;
    const images = new Float32Array(n * h * w);
    const labels = new Uint8Array(n * h * w);
    for (let k = 0; k < n; k++) {
      const augmented = this.augmenter.augment(this.samples[this.nextIndex()]!);
      images.set(augmented.image, k * h * w);
      labels.set(augmented.label, k * h * w);
    }
    return { images, labels, n, h, w };
  }

  private nextIndex(): number {
    if (this.cursor >= this.epochOrder.length) {
      this.epochOrder = this.order.shuffle(Array.from(this.samples, (_, i) => i));
      this.cursor = 0;
    }
    return this.epochOrder[this.cursor++]!;
  }
}
