import { boxMean } from './box-mean.js';
import type { Case, ImageVolume, LabelVolume, Slice, Spacing } from '../types.js';
import { DataError } from './errors.js';
import { resampleLinear, resampleNearest } from './resample.js';

export interface PreprocessOptions {
  /** Network input width and height in pixels (e.g. 128 for `lite`, 256 for `paper`). */
  readonly size: number;
  /** In-plane target spacing in mm [x, y]; omitted = keep the acquired spacing (no resampling). */
  readonly targetSpacing?: readonly [number, number];
  /** Where to centre the crop: from labels when present (training, default), or from the image alone (inference). */
  readonly centreFrom?: 'labels' | 'image';
}

/** Everything needed to put a size×size prediction back onto the case's original grid. */
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
  readonly centredOn: 'labels' | 'image';
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

function resampledSize(volume: ImageVolume, target?: readonly [number, number]): [number, number] {
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
 * Heart centre from the image alone. In LGE the LV blood pool is a bright blob of roughly 20-50 mm
 * near the middle of the field of view; bright fat and chest wall lie at the periphery. We average the
 * min-max normalised slices of the stack, smooth with a box of ~25 mm (blood-pool sized, so thin bright
 * rims score low), weight by a Gaussian prior centred on the image (σ = 30% of the field of view) and
 * take the maximum.
 */
export function estimateHeartCentre(slices: readonly Float32Array[], w: number, h: number, spacing: readonly [number, number]): [number, number] {
  const mean = new Float64Array(w * h);
  for (const s of slices) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < s.length; i++) {
      const v = s[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const scale = hi > lo ? 1 / (hi - lo) : 0;
    for (let i = 0; i < s.length; i++) mean[i] = mean[i]! + (s[i]! - lo) * scale;
  }
  const rx = Math.max(1, Math.round(12.5 / spacing[0]));
  const ry = Math.max(1, Math.round(12.5 / spacing[1]));
  const smoothed = boxMean(mean, w, h, rx, ry);
  const sigmaX = 0.3 * w;
  const sigmaY = 0.3 * h;
  let best = -Infinity;
  let centre: [number, number] = [(w - 1) / 2, (h - 1) / 2];
  for (let y = 0; y < h; y++) {
    const py = (y - (h - 1) / 2) / sigmaY;
    for (let x = 0; x < w; x++) {
      const px = (x - (w - 1) / 2) / sigmaX;
      const score = smoothed[y * w + x]! * Math.exp(-0.5 * (px * px + py * py));
      if (score > best) {
        best = score;
        centre = [x, y];
      }
    }
  }
  return centre;
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

/** Places a size×size window whose top-left is (x0, y0) back into a w×h grid of background. */
function uncrop(window: Uint8Array, size: number, x0: number, y0: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = Math.max(0, y0); y < Math.min(h, y0 + size); y++) {
    for (let x = Math.max(0, x0); x < Math.min(w, x0 + size); x++) out[y * w + x] = window[(y - y0) * size + (x - x0)]!;
  }
  return out;
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
 * The study's preprocessing: optional in-plane resampling (linear image, nearest labels), a size×size
 * crop/pad centred on the heart, then per-slice min-max normalisation of the cropped image. Padding uses
 * the slice minimum so it does not stretch the normalisation. A case without labels gets all-background
 * label slices and an image-based centre.
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
  const wantLabels = (options.centreFrom ?? 'labels') === 'labels';
  const fromLabels = wantLabels && c.label ? labelCentre(labels, rw, rh) : undefined;
  const spacingAfter: [number, number] = [(image.spacing[0] * w) / rw, (image.spacing[1] * h) / rh];
  const centre = fromLabels ?? estimateHeartCentre(images, rw, rh, spacingAfter);
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
      centredOn: fromLabels ? 'labels' : 'image',
    },
  };
}

/**
 * Maps size×size label slices (one per original slice) back onto the case's original grid: un-crop
 * (outside the window is background), then nearest-neighbour back to the acquired spacing. Without
 * resampling this is the exact inverse of the crop: restore(preprocess(label)) = label wherever the
 * window covered it.
 */
export function restorePrediction(labelSlices: readonly Uint8Array[], transform: PreprocessTransform): LabelVolume {
  const [w, h, depth] = transform.originalDims;
  const { size, resampledWidth: rw, resampledHeight: rh, cropX, cropY } = transform;
  if (labelSlices.length !== depth) throw new DataError('bad-input', 'prediction', `${labelSlices.length} slices given, the case has ${depth}`);
  const out = new Uint8Array(w * h * depth);
  labelSlices.forEach((slice, k) => {
    if (slice.length !== size * size) throw new DataError('bad-input', 'prediction', `slice ${k} has ${slice.length} pixels, expected ${size}x${size}`);
    const resampledGrid = uncrop(slice, size, cropX, cropY, rw, rh);
    const original = rw === w && rh === h ? resampledGrid : resampleNearest(resampledGrid, rw, rh, w, h);
    out.set(original, k * w * h);
  });
  return { data: out, dims: transform.originalDims, spacing: transform.originalSpacing };
}
