/**
 * Cases → training samples: every slice whole, at the working spacing, normalised exactly as
 * inference normalises it. The augmenter then samples network windows anywhere in the slice (a
 * share of them forced onto the heart), so the network learns the background it meets when
 * inference tiles the whole image.
 */
import type { SpacedSlice } from '../augment/sample.js';
import { preprocessWholeSlices } from '../imaging/whole-slice.js';
import type { Case } from '../types.js';
import { WorkflowError } from './errors.js';

export interface SampleOptions {
  /** Network input size in pixels: smaller slices are padded to it. */
  readonly inputSize: number;
  /** In-plane spacing (mm) the model works at; cases are resampled to it. */
  readonly spacing: readonly [number, number];
}

/** Every slice of every annotated case, whole, resampled and normalised. */
export function trainingSamples(cases: readonly Case[], options: SampleOptions): SpacedSlice[] {
  const samples: SpacedSlice[] = [];
  for (const c of cases) {
    if (!c.label) throw new WorkflowError(`case ${c.id} (${c.source}) has no labels; training needs annotated cases`);
    const { slices, spacing } = preprocessWholeSlices(c, { minSize: options.inputSize, targetSpacing: options.spacing });
    for (const slice of slices) samples.push({ ...slice, spacing });
  }
  if (samples.length === 0) throw new WorkflowError('no training slices in the given cases');
  return samples;
}
