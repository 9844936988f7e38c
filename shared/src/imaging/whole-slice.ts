/**
 * Whole-slice preprocessing, the one path for training and inference (as nnU-Net): resample each
 * slice to the model's working spacing, normalise its intensities robustly, and pad it to at least
 * the network window. No crop and no guessed heart centre: training samples windows from these
 * slices, inference tiles them, and `restoreWholeSliceProbabilities` undoes the padding and the
 * resampling of what it predicts.
 */
import type { Case, LabelVolume, Slice, Spacing } from '../types.js';
import { DataError } from './errors.js';
import { resampledSize } from './preprocess.js';
import { resampleLinear, resampleNearest } from './resample.js';

/** Intensities below/above these quantiles of a slice are clipped before scaling to [0, 1]. */
export const NORMALISATION_QUANTILES: readonly [number, number] = [0.005, 0.995];

/** Quantiles are read from at most this many evenly strided pixels (exact enough, and fast). */
const QUANTILE_SAMPLES = 16384;

export interface WholeSliceOptions {
  /** In-plane working spacing in mm [x, y]; omitted = the acquired spacing. */
  readonly targetSpacing?: readonly [number, number];
  /** Slices smaller than this (pixels, after resampling) are padded to it: the network window. */
  readonly minSize: number;
}

/** Everything needed to put a prediction on the padded grid back onto the case's own grid. */
export interface WholeSliceTransform {
  readonly originalDims: readonly [number, number, number];
  readonly originalSpacing: Spacing;
  readonly resampledWidth: number;
  readonly resampledHeight: number;
  /** Padding before the resampled slice (left, top); the padded grid is width x height. */
  readonly padX: number;
  readonly padY: number;
  readonly width: number;
  readonly height: number;
}

export interface WholeSliceCase {
  /** One per original slice, base to apex: images in [0, 1], labels (background when unannotated). */
  readonly slices: Slice[];
  /** In-plane spacing of the slices (mm). */
  readonly spacing: readonly [number, number];
  readonly transform: WholeSliceTransform;
}

/**
 * Scales a slice to [0, 1] in place between its 0.5 % and 99.5 % intensity quantiles (clipping
 * beyond them): an int16 cine, an 8-bit PNG and a float map of the same anatomy come out alike, and
 * one bright artefact or fat pixel does not compress the heart's contrast.
 */
export function normaliseIntensity(slice: Float32Array): Float32Array {
  const stride = Math.max(1, Math.floor(slice.length / QUANTILE_SAMPLES));
  const sample = new Float32Array(Math.ceil(slice.length / stride));
  for (let i = 0, k = 0; i < slice.length; i += stride, k++) sample[k] = slice[i]!;
  sample.sort();
  const at = (q: number): number => sample[Math.min(sample.length - 1, Math.max(0, Math.round(q * (sample.length - 1))))]!;
  const lo = at(NORMALISATION_QUANTILES[0]);
  const hi = at(NORMALISATION_QUANTILES[1]);
  const scale = hi > lo ? 1 / (hi - lo) : 0;
  for (let i = 0; i < slice.length; i++) {
    const v = (slice[i]! - lo) * scale;
    slice[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return slice;
}

function pad<T extends Float32Array | Uint8Array>(src: T, w: number, h: number, out: T, width: number, padX: number, padY: number): T {
  for (let y = 0; y < h; y++) out.set(src.subarray(y * w, (y + 1) * w), (y + padY) * width + padX);
  return out;
}

export function preprocessWholeSlices(c: Case, options: WholeSliceOptions): WholeSliceCase {
  const { image } = c;
  if (!Number.isInteger(options.minSize) || options.minSize < 8) throw new DataError('bad-input', c.source, `window size ${options.minSize} must be an integer ≥ 8`);
  if (options.targetSpacing && !options.targetSpacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new DataError('bad-input', c.source, `target spacing ${options.targetSpacing.join('x')} must be positive mm`);
  }
  if (c.label && c.label.dims.join() !== image.dims.join()) {
    throw new DataError('shape-mismatch', c.source, `label ${c.label.dims.join('x')} does not match image ${image.dims.join('x')}`);
  }
  const [w, h, depth] = image.dims;
  const [rw, rh] = resampledSize(image, options.targetSpacing);
  const resampling = rw !== w || rh !== h;
  const width = Math.max(rw, options.minSize);
  const height = Math.max(rh, options.minSize);
  const padX = Math.floor((width - rw) / 2);
  const padY = Math.floor((height - rh) / 2);
  const plane = w * h;
  const labelSlice = (lab: Uint8Array): Uint8Array => {
    const resampled = resampling ? resampleNearest(lab, w, h, rw, rh) : lab.slice();
    return width === rw && height === rh ? resampled : pad(resampled, rw, rh, new Uint8Array(width * height), width, padX, padY);
  };
  const slices: Slice[] = [];
  for (let k = 0; k < depth; k++) {
    const raw = image.data.subarray(k * plane, (k + 1) * plane);
    const resampled = normaliseIntensity(resampling ? resampleLinear(raw, w, h, rw, rh) : raw.slice());
    const imageSlice = width === rw && height === rh ? resampled : pad(resampled, rw, rh, new Float32Array(width * height), width, padX, padY);
    slices.push({ image: imageSlice, label: c.label ? labelSlice(c.label.data.subarray(k * plane, (k + 1) * plane)) : new Uint8Array(width * height), width, height });
  }
  return {
    slices,
    spacing: [(image.spacing[0] * w) / rw, (image.spacing[1] * h) / rh],
    transform: { originalDims: image.dims, originalSpacing: image.spacing, resampledWidth: rw, resampledHeight: rh, padX, padY, width, height },
  };
}

/**
 * Class probabilities on the padded grid (classes interleaved per pixel) → on the case's own grid, as
 * class planes per slice ([slice][class][pixel]). Each class's plane is resampled bilinearly, as
 * nnU-Net resamples the softmax and not the labels: after the argmax (`argmaxClassPlanes`) a boundary
 * can fall between two pixels of the working grid instead of on the nearest one. With `sum`, adds
 * into it (averaging over several working spacings) and returns it.
 */
export function restoreWholeSliceProbabilities(probabilitySlices: readonly Float32Array[], classes: number, transform: WholeSliceTransform, sum?: Float32Array): Float32Array {
  const [w, h, depth] = transform.originalDims;
  const { resampledWidth: rw, resampledHeight: rh, padX, padY, width, height } = transform;
  if (probabilitySlices.length !== depth) throw new DataError('bad-input', 'prediction', `${probabilitySlices.length} slices given, the case has ${depth}`);
  const out = sum ?? new Float32Array(w * h * depth * classes);
  if (out.length !== w * h * depth * classes) throw new DataError('bad-input', 'prediction', `probability sum holds ${out.length} values, expected ${w}x${h}x${depth}x${classes}`);
  const plane = new Float32Array(rw * rh);
  probabilitySlices.forEach((slice, k) => {
    if (slice.length !== width * height * classes) throw new DataError('bad-input', 'prediction', `slice ${k} has ${slice.length} values, expected ${width}x${height}x${classes}`);
    for (let c = 0; c < classes; c++) {
      for (let y = 0; y < rh; y++) {
        const row = (y + padY) * width + padX;
        for (let x = 0; x < rw; x++) plane[y * rw + x] = slice[(row + x) * classes + c]!;
      }
      const onGrid = rw === w && rh === h ? plane : resampleLinear(plane, rw, rh, w, h);
      const target = out.subarray((k * classes + c) * w * h, (k * classes + c + 1) * w * h);
      for (let i = 0; i < onGrid.length; i++) target[i]! += onGrid[i]!;
    }
  });
  return out;
}

/** Labels from class planes per slice ([slice][class][pixel], as restoreWholeSliceProbabilities gives): the argmax, ties to the lower class. */
export function argmaxClassPlanes(planes: Float32Array, classes: number, dims: readonly [number, number, number], spacing: Spacing): LabelVolume {
  const plane = dims[0] * dims[1];
  const out = new Uint8Array(plane * dims[2]);
  if (planes.length !== out.length * classes) throw new DataError('bad-input', 'prediction', `class planes hold ${planes.length} values, expected ${dims.join('x')}x${classes}`);
  for (let k = 0; k < dims[2]; k++) {
    const base = k * classes * plane;
    for (let i = 0; i < plane; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (planes[base + c * plane + i]! > planes[base + best * plane + i]!) best = c;
      out[k * plane + i] = best;
    }
  }
  return { data: out, dims, spacing };
}
