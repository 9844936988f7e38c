/**
 * Inference of a whole short-axis stack: whole-slice preprocessing (resample to the working spacing,
 * robust intensity normalisation, pad to the window), overlapping Gaussian-weighted windows with
 * optional mirroring, class probabilities mapped back onto the input grid (averaged over several
 * working spacings when asked) before the argmax, and 3D largest-connected-component post-processing
 * per structure. No crop and no guessed heart centre.
 */
import { argmaxClassPlanes, preprocessWholeSlices, restoreWholeSliceProbabilities } from '../imaging/whole-slice.js';
import { largestComponent } from '../metrics/components.js';
import type { ImageVolume, LabelVolume } from '../types.js';
import type { ProbabilityEngine } from './probability-engine.js';
import { slidingWindowProbabilities } from './sliding-window.js';
import type { UNetSpec } from './spec.js';
import { scalesProblem } from './test-time-scales.js';
import { ModelInputError } from './unet.js';

export interface PredictOptions {
  /** Average softmax over each window and its x, y and xy mirror images (4 passes). */
  readonly mirror?: boolean;
  /**
   * Test-time scale averaging: also segment at these multiples of the working spacing (e.g. 0.833,
   * 1, 1.167) and average the class probabilities on the input grid; one pass each. Default [1].
   */
  readonly scales?: readonly number[];
  /** Keep only the largest 3D component of each structure (default true). */
  readonly largestComponent?: boolean;
  /** In-plane spacing in mm the model was trained at; omitted = the acquired spacing. */
  readonly targetSpacing?: readonly [number, number];
  /** Windows per forward pass (default 8). */
  readonly batchSize?: number;
}

/** Keeps the largest 3D component of every foreground label; removed voxels become background. */
export function keepLargestComponents(volume: LabelVolume, labels: readonly number[]): LabelVolume {
  const data = volume.data.slice();
  for (const label of labels) {
    const mask = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) mask[i] = data[i] === label ? 1 : 0;
    const kept = largestComponent(mask, volume.dims);
    for (let i = 0; i < data.length; i++) if (mask[i] && !kept[i]) data[i] = 0;
  }
  return { ...volume, data };
}

/** Returns `scales` when test-time-scales.ts accepts them; throws ModelInputError otherwise. */
export function checkScales(scales: readonly number[]): readonly number[] {
  const problem = scalesProblem(scales);
  if (problem) throw new ModelInputError(problem);
  return scales;
}

/** Predicts a label volume on the image's own grid. */
export async function predictVolume(engine: ProbabilityEngine, spec: UNetSpec, image: ImageVolume, options: PredictOptions = {}): Promise<LabelVolume> {
  const voxels = image.dims[0] * image.dims[1] * image.dims[2];
  if (!image.dims.every((d) => Number.isInteger(d) && d > 0) || image.data.length !== voxels) {
    throw new ModelInputError(`image data has ${image.data.length} voxels, dims [${image.dims}] need ${voxels}`);
  }
  const scales = checkScales(options.scales ?? [1]);
  const spacing = options.targetSpacing ?? [image.spacing[0], image.spacing[1]];
  let sum: Float32Array | undefined;
  for (const factor of scales) {
    const { slices, transform } = preprocessWholeSlices(
      { id: 'prediction', image, source: 'prediction input' },
      { minSize: spec.inputSize, targetSpacing: [spacing[0] * factor, spacing[1] * factor] },
    );
    const probabilities = await slidingWindowProbabilities(engine, slices, {
      window: spec.inputSize,
      ...(options.mirror !== undefined ? { mirror: options.mirror } : {}),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    });
    sum = restoreWholeSliceProbabilities(probabilities, engine.classes, transform, sum);
  }
  const restored = argmaxClassPlanes(sum!, engine.classes, image.dims, image.spacing);
  if (options.largestComponent === false) return restored;
  const foreground = Array.from({ length: spec.classes - 1 }, (_, i) => i + 1);
  return keepLargestComponents(restored, foreground);
}
