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

/** A 32-bit seed for one (seed, stream, counter) triple: splitmix-style mixing, so nearby counters differ in every bit. */
function mixSeed(seed: number, stream: number, counter: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream, 0x85ebca6b) ^ Math.imul(counter, 0xc2b2ae35)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) | 0;
}

const ORDER_STREAM = 1;
const AUGMENT_STREAM = 2;

/**
 * Draws batches synchronously: samples in a fresh shuffled order each epoch, each augmented.
 * Batch i is a function of (seed, i) alone — epoch e's order comes from its own seeded stream and
 * batch i's augmentation from another — so training resumed at iteration i sees exactly the batches
 * an uninterrupted run would have. The prefetching provider runs one of these in a worker thread.
 */
export class BatchAssembler {
  private iteration: number;
  private epoch = -1;
  private epochOrder: number[] = [];

  constructor(
    private readonly samples: readonly SpacedSlice[],
    private readonly options: BatchOptions,
    startIteration = 0,
  ) {
    if (samples.length === 0) throw new AugmentationError('no samples to draw batches from');
    if (!Number.isInteger(startIteration) || startIteration < 0) throw new AugmentationError(`start iteration must be a non-negative integer, got ${startIteration}`);
    // Checked once here; each batch gets its own augmenter below.
    new Augmenter(options.preset, { seed: options.seed, outputWidth: options.outputWidth, outputHeight: options.outputHeight });
    this.iteration = startIteration;
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.samples.length / this.options.batchSize);
  }

  next(): TrainingBatch {
    const { batchSize: n, outputWidth: w, outputHeight: h, seed } = this.options;
    const augmenter = new Augmenter(this.options.preset, { seed: mixSeed(seed, AUGMENT_STREAM, this.iteration), outputWidth: w, outputHeight: h });
    const images = new Float32Array(n * h * w);
    const labels = new Uint8Array(n * h * w);
    for (let k = 0; k < n; k++) {
      const augmented = augmenter.augment(this.samples[this.sampleAt(this.iteration * n + k)]!);
      images.set(augmented.image, k * h * w);
      labels.set(augmented.label, k * h * w);
    }
    this.iteration++;
    return { images, labels, n, h, w };
  }

  /** The sample drawn at overall position `index`: epochs are consecutive shuffles of all samples. */
  private sampleAt(index: number): number {
    const epoch = Math.floor(index / this.samples.length);
    if (epoch !== this.epoch) {
      this.epochOrder = new Prng(mixSeed(this.options.seed, ORDER_STREAM, epoch)).shuffle(Array.from(this.samples, (_, i) => i));
      this.epoch = epoch;
    }
    return this.epochOrder[index % this.samples.length]!;
  }
}
