/** Image file → label file: the site's everyday inference, written on the input's own voxel grid. */
import { readNifti } from '../imaging/nifti-read.js';
import { gatherReoriented, inverseReorientation, reorientAffine, reorientedDims } from '../imaging/orientation.js';
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
 * Segments a NIfTI image and writes the label map (0 background, 1 blood pool, 2 myocardium) in the
 * input file's voxel order and affine: the reader turned the slices the consistent way up, and the
 * labels are turned back, so tools that compare arrays voxel by voxel line up as viewers do.
 */
export async function predictNiftiFile(model: LoadedModel, input: string, output: string, settings: PredictionSettings = {}): Promise<PredictFileResult> {
  const volume = await readNifti(input);
  const image = { data: volume.data, dims: volume.dims, spacing: volume.spacing };
  let label;
  let warning: string | undefined;
  for await (const result of segmentCases(model, [{ id: input, image, source: input }], settings)) ({ label, warning } = result);
  const back = inverseReorientation(volume.reorientation);
  const stored = new Uint8Array(label!.data.length);
  gatherReoriented(label!.data, stored, volume.dims, back);
  await writeNifti(output, {
    data: stored,
    dims: reorientedDims(volume.dims, back),
    affine: reorientAffine(volume.affine, volume.dims, back),
    description: `lgefed ${model.id.slice(0, 12)}`,
  });
  const volumesMl = Object.fromEntries(STRUCTURES.map((s, i) => [s, volumeMl(maskOf(label!, i + 1), volume.spacing)])) as Record<Structure, number>;
  return { output, dims: volume.dims, volumesMl, ...(warning ? { warning } : {}) };
}
