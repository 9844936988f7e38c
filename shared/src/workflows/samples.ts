/**
 * Cases → training samples. Slices are cut wider than the network input (a context margin) so
 * that the augmenter's random crop and rotation have real image to draw from instead of padding;
 * with augmentation `none` the centred crop gives exactly the inference-time window.
 */
import type { SpacedSlice } from '../augment/sample.js';
import { preprocessCase } from '../imaging/preprocess.js';
import type { Case } from '../types.js';
import { WorkflowError } from './errors.js';

export interface SampleOptions {
  /** Network input size in pixels. */
  readonly inputSize: number;
  /** In-plane spacing (mm) the model works at; cases are resampled to it. */
  readonly spacing: readonly [number, number];
  /** Extra context around the input window, as a fraction of the input size (default 0.5). */
  readonly contextFraction?: number;
}

/** Every slice of every annotated case, heart-centred (from its labels) and min-max normalised. */
export function trainingSamples(cases: readonly Case[], options: SampleOptions): SpacedSlice[] {
  const context = options.contextFraction ?? 0.5;
  if (!(context >= 0 && context <= 2)) throw new WorkflowError(`contextFraction must be in [0, 2], got ${context}`);
  const size = 2 * Math.round((options.inputSize * (1 + context)) / 2);
  const samples: SpacedSlice[] = [];
  for (const c of cases) {
    if (!c.label) throw new WorkflowError(`case ${c.id} (${c.source}) has no labels; training needs annotated cases`);
    const { slices } = preprocessCase(c, { size, targetSpacing: options.spacing, centreFrom: 'labels' });
    for (const slice of slices) samples.push({ ...slice, spacing: [options.spacing[0], options.spacing[1]] });
  }
  if (samples.length === 0) throw new WorkflowError('no training slices in the given cases');
  return samples;
}
