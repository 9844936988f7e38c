/**
 * Held-out slices for early stopping: a seeded share of the annotated slices that contain the
 * heart, set aside before training and cut once into fixed windows on their foreground (no
 * augmentation), so every check scores the same pixels.
 */
import { applyOperators } from '../augment/augmenter.js';
import { Prng } from '../augment/prng.js';
import type { SpacedSlice } from '../augment/sample.js';
import type { Batch } from '../model/batches.js';
import { WorkflowError } from './errors.js';

export interface HeldOutOptions {
  /** Share of the slices with foreground held out (default 0.2; at least one slice). */
  readonly fraction?: number;
  readonly seed: number;
  readonly inputSize: number;
}

export const DEFAULT_HELD_OUT_FRACTION = 0.2;

export function holdOutSlices(samples: readonly SpacedSlice[], options: HeldOutOptions): { train: SpacedSlice[]; heldOut: Batch } {
  const fraction = options.fraction ?? DEFAULT_HELD_OUT_FRACTION;
  if (!(fraction > 0 && fraction < 1)) throw new WorkflowError(`held-out fraction must be in (0, 1), got ${fraction}`);
  const withHeart = samples.filter((s) => s.label.some((v) => v !== 0));
  if (withHeart.length < 2) throw new WorkflowError(`early stopping needs at least 2 annotated slices showing the heart; these cases have ${withHeart.length}`);
  const prng = new Prng(options.seed);
  // Fisher-Yates on a copy: the seed alone decides which slices are held out.
  const order = [...withHeart];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(prng.uniform(0, i + 1)));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const held = new Set(order.slice(0, Math.max(1, Math.round(fraction * withHeart.length))));
  return { train: samples.filter((s) => !held.has(s)), heldOut: heartWindows([...held], options.inputSize, prng) };
}

/**
 * Held-out slices from cases kept apart for validation (the study's per-centre validation split):
 * every one of their slices that shows the heart, cut as holdOutSlices cuts them.
 */
export function validationSlices(samples: readonly SpacedSlice[], options: Omit<HeldOutOptions, 'fraction'>): Batch {
  const withHeart = samples.filter((s) => s.label.some((v) => v !== 0));
  if (withHeart.length === 0) throw new WorkflowError('the validation cases have no annotated slice showing the heart');
  return heartWindows(withHeart, options.inputSize, new Prng(options.seed));
}

/** One fixed window per slice, on its foreground, without augmentation. */
function heartWindows(slices: readonly SpacedSlice[], inputSize: number, prng: Prng): Batch {
  const size = { outputWidth: inputSize, outputHeight: inputSize };
  const pixels = inputSize * inputSize;
  const images = new Float32Array(slices.length * pixels);
  const labels = new Uint8Array(slices.length * pixels);
  slices.forEach((sample, i) => {
    const window = applyOperators(sample, [], 'foreground', size, prng);
    images.set(window.image, i * pixels);
    labels.set(window.label, i * pixels);
  });
  return { images, labels, count: slices.length, size: inputSize };
}
