/** Image file → label file: the site's everyday inference, written on the input's world grid. */
import { readNifti } from '../imaging/nifti-read.js';
import { writeNifti } from '../imaging/nifti-write.js';
import { maskOf, volumeMl } from '../metrics/volumes.js';
import { STRUCTURES, type Structure } from '../types.js';
import { segmentCases, type PredictionSettings } from './evaluate.js';
import type { LoadedModel } from './model-files.js';

export interface PredictFileResult {
  readonly output: string;
  readonly dims: readonly [number, number, number];
  /** Predicted volume per structure, ml. */
  readonly volumesMl: Record<Structure, number>;
  /** Set when the predicted LV volume is implausible. */
  readonly warning?: string;
}

/**
 * Segments a NIfTI image and writes the label map (0 background, 1 blood pool, 2 myocardium) with
 * the voxel→world affine of the grid it was segmented on, so viewers overlay it on the input.
 */
export async function predictNiftiFile(model: LoadedModel, input: string, output: string, settings: PredictionSettings = {}): Promise<PredictFileResult> {
  const volume = await readNifti(input);
  const image = { data: volume.data, dims: volume.dims, spacing: volume.spacing };
  let label;
  let warning: string | undefined;
  for await (const result of segmentCases(model, [{ id: input, image, source: input }], settings)) ({ label, warning } = result);
  await writeNifti(output, { data: label!.data, dims: volume.dims, affine: volume.affine, description: `lgefed ${model.id.slice(0, 12)}` });
  const volumesMl = Object.fromEntries(STRUCTURES.map((s, i) => [s, volumeMl(maskOf(label!, i + 1), volume.spacing)])) as Record<Structure, number>;
  return { output, dims: volume.dims, volumesMl, ...(warning ? { warning } : {}) };
}
