import type { Case, ImageVolume, Slice, Spacing } from '../types.js';
import { DataError } from './errors.js';
import { resampleLinear, resampleNearest } from './resample.js';

export interface PreprocessOptions {
  /** Network input width and height in pixels (e.g. 128 for `lite`, 256 for `paper`). */
  readonly size: number;
  /** In-plane target spacing in mm [x, y]; omitted = keep the acquired spacing (no resampling). */
  readonly targetSpacing?: readonly [number, number];
}

/** Where the window came from in the case's grid. */
export interface PreprocessTransform {
  readonly originalDims: readonly [number, number, number];
  readonly originalSpacing: Spacing;
  /** In-plane grid after resampling (equals the original when not resampled). */
  readonly resampledWidth: number;
  readonly resampledHeight: number;
  /** Top-left of the crop window in the resampled grid; negative means padding. */
  readonly cropX: number;
  readonly cropY: number;
  readonly size: number;
  readonly centredOn: 'labels' | 'grid';
}

export interface PreprocessedCase {
  /** One per original slice, base→apex: image min-max normalised to [0, 1] after cropping, label cropped. */
  readonly slices: Slice[];
  readonly transform: PreprocessTransform;
}

function checkOptions(options: PreprocessOptions, source: string): void {
  if (!Number.isInteger(options.size) || options.size < 8) throw new DataError('bad-input', source, `network input size ${options.size} must be an integer ≥ 8`);
  if (options.targetSpacing && !options.targetSpacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new DataError('bad-input', source, `target spacing ${options.targetSpacing.join('x')} must be positive mm`);
  }
}

export function resampledSize(volume: ImageVolume, target?: readonly [number, number]): [number, number] {
  if (!target) return [volume.dims[0], volume.dims[1]];
  return [Math.max(1, Math.round((volume.dims[0] * volume.spacing[0]) / target[0])), Math.max(1, Math.round((volume.dims[1] * volume.spacing[1]) / target[1]))];
}

/** Centroid of all foreground voxels over the stack, or undefined when there is none. */
function labelCentre(labels: Uint8Array[], w: number, h: number): [number, number] | undefined {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (const slice of labels) {
    for (let y = 0, i = 0; y < h; y++) {
      let rowCount = 0;
      for (let x = 0; x < w; x++, i++) {
        if (slice[i] !== 0) {
          sx += x;
          rowCount++;
        }
      }
      sy += y * rowCount;
      n += rowCount;
    }
  }
  return n > 0 ? [sx / n, sy / n] : undefined;
}

/**
 * size×size window with top-left (x0, y0) of a w×h slice; outside the slice is `fill`. Row copies via
 * subarray/set; written once per element type so each stays monomorphic.
 */
function cropImage(src: Float32Array, w: number, h: number, x0: number, y0: number, size: number, fill: number): Float32Array {
  const out = new Float32Array(size * size);
  if (fill !== 0) out.fill(fill);
  const xa = Math.max(0, -x0);
  const xb = Math.min(size, w - x0);
  if (xb <= xa) return out;
  for (let y = Math.max(0, -y0); y < Math.min(size, h - y0); y++) out.set(src.subarray((y + y0) * w + xa + x0, (y + y0) * w + xb + x0), y * size + xa);
  return out;
}

function cropLabel(src: Uint8Array, w: number, h: number, x0: number, y0: number, size: number): Uint8Array {
  const out = new Uint8Array(size * size);
  const xa = Math.max(0, -x0);
  const xb = Math.min(size, w - x0);
  if (xb <= xa) return out;
  for (let y = Math.max(0, -y0); y < Math.min(size, h - y0); y++) out.set(src.subarray((y + y0) * w + xa + x0, (y + y0) * w + xb + x0), y * size + xa);
  return out;
}

function sliceMinimum(slice: Float32Array): number {
  let lo = Infinity;
  for (let i = 0; i < slice.length; i++) {
    const v = slice[i]!;
    if (v < lo) lo = v;
  }
  return lo;
}

function minMaxNormalise(slice: Float32Array): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < slice.length; i++) {
    const v = slice[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 1 / (hi - lo) : 0;
  for (let i = 0; i < slice.length; i++) slice[i] = (slice[i]! - lo) * scale;
  return slice;
}


/**
 * A size×size window centred on the labelled heart (the grid centre when unannotated), after optional
 * in-plane resampling (linear image, nearest labels), each slice min-max normalised after cropping;
 * padding uses the slice minimum so it does not stretch the normalisation. For looking at the heart
 * region (appearance statistics, the data bench): models train and predict on whole slices
 * (whole-slice.ts).
 */
export function preprocessCase(c: Case, options: PreprocessOptions): PreprocessedCase {
  checkOptions(options, c.source);
  const { image } = c;
  const [w, h, depth] = image.dims;
  if (c.label && c.label.dims.join() !== image.dims.join()) {
    throw new DataError('shape-mismatch', c.source, `label ${c.label.dims.join('x')} does not match image ${image.dims.join('x')}`);
  }
  const [rw, rh] = resampledSize(image, options.targetSpacing);
  const resampling = rw !== w || rh !== h;
  const plane = w * h;
  const images: Float32Array[] = [];
  const labels: Uint8Array[] = [];
  for (let k = 0; k < depth; k++) {
    const img = image.data.subarray(k * plane, (k + 1) * plane);
    images.push(resampling ? resampleLinear(img, w, h, rw, rh) : img);
    if (c.label) {
      const lab = c.label.data.subarray(k * plane, (k + 1) * plane);
      labels.push(resampling ? resampleNearest(lab, w, h, rw, rh) : lab);
    }
  }
  const fromLabels = c.label ? labelCentre(labels, rw, rh) : undefined;
  const centre = fromLabels ?? [(rw - 1) / 2, (rh - 1) / 2];
  const { size } = options;
  const cropX = Math.round(centre[0] - (size - 1) / 2);
  const cropY = Math.round(centre[1] - (size - 1) / 2);
  const padded = cropX < 0 || cropY < 0 || cropX + size > rw || cropY + size > rh;
  const slices: Slice[] = images.map((img, k) => {
    const cropped = minMaxNormalise(cropImage(img, rw, rh, cropX, cropY, size, padded ? sliceMinimum(img) : 0));
    const label = c.label ? cropLabel(labels[k]!, rw, rh, cropX, cropY, size) : new Uint8Array(size * size);
    return { image: cropped, label, width: size, height: size };
  });
  return {
    slices,
    transform: {
      originalDims: image.dims,
      originalSpacing: image.spacing,
      resampledWidth: rw,
      resampledHeight: rh,
      cropX,
      cropY,
      size,
      centredOn: fromLabels ? 'labels' : 'grid',
    },
  };
}
