/**
 * Slice-wise inference of a whole short-axis stack: the study's preprocessing (heart-centred
 * crop/pad, min-max), batched forward passes, optional test-time mirroring, 3D largest-connected-
 * component post-processing per structure, and the result mapped back onto the input grid.
 */
import * as tf from '@tensorflow/tfjs-core';
import { preprocessCase, restorePrediction } from '../imaging/preprocess.js';
import { largestComponent } from '../metrics/components.js';
import type { ImageVolume, LabelVolume } from '../types.js';
import { ModelInputError, type UNet } from './unet.js';

export interface PredictOptions {
  /** Average softmax over the image and its x, y and xy mirror images (4 passes). */
  readonly mirror?: boolean;
  /** Keep only the largest 3D component of each structure (default true). */
  readonly largestComponent?: boolean;
  /** In-plane spacing in mm the model was trained at; omitted = the acquired spacing. */
  readonly targetSpacing?: readonly [number, number];
  /** Slices per forward pass (default 8). */
  readonly batchSize?: number;
}

/** Class probabilities [n, size, size, classes] for normalised slices [n, size, size, 1]. */
function probabilities(model: UNet, input: tf.Tensor4D, mirror: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const pass = (flipAxes: number[]): tf.Tensor4D => {
      const x = flipAxes.length > 0 ? tf.reverse(input, flipAxes) : input;
      const p = tf.softmax(model.forward(x, [0]).get(0)!);
      return flipAxes.length > 0 ? tf.reverse(p, flipAxes) : p;
    };
    if (!mirror) return pass([]);
    return tf.div(tf.addN([pass([]), pass([2]), pass([1]), pass([1, 2])]), 4) as tf.Tensor4D;
  });
}

/** Label slices (size x size, one per slice of the stack) predicted for the preprocessed images. */
export async function predictSlices(model: UNet, images: readonly Float32Array[], options: PredictOptions = {}): Promise<Uint8Array[]> {
  const size = model.spec.inputSize;
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const out: Uint8Array[] = [];
  for (let start = 0; start < images.length; start += batchSize) {
    const chunk = images.slice(start, start + batchSize);
    const stacked = new Float32Array(chunk.length * size * size);
    chunk.forEach((slice, i) => stacked.set(slice, i * size * size));
    const labels = tf.tidy(() => tf.argMax(probabilities(model, tf.tensor4d(stacked, [chunk.length, size, size, 1]), options.mirror ?? false), 3));
    const values = await labels.data();
    labels.dispose();
    for (let i = 0; i < chunk.length; i++) out.push(Uint8Array.from(values.subarray(i * size * size, (i + 1) * size * size)));
  }
  return out;
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

/** Predicts a label volume on the image's own grid. */
export async function predictVolume(model: UNet, image: ImageVolume, options: PredictOptions = {}): Promise<LabelVolume> {
  const voxels = image.dims[0] * image.dims[1] * image.dims[2];
  if (!image.dims.every((d) => Number.isInteger(d) && d > 0) || image.data.length !== voxels) {
    throw new ModelInputError(`image data has ${image.data.length} voxels, dims [${image.dims}] need ${voxels}`);
  }
  const { slices, transform } = preprocessCase(
    { id: 'prediction', image, source: 'prediction input' },
    { size: model.spec.inputSize, centreFrom: 'image', ...(options.targetSpacing ? { targetSpacing: options.targetSpacing } : {}) },
  );
  const labelSlices = await predictSlices(
    model,
    slices.map((s) => s.image),
    options,
  );
  const restored = restorePrediction(labelSlices, transform);
  if (options.largestComponent === false) return restored;
  const foreground = Array.from({ length: model.spec.classes - 1 }, (_, i) => i + 1);
  return keepLargestComponents(restored, foreground);
}
