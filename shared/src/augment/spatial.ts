import type { SpacedSlice } from './sample.js';

/**
 * Where each output pixel reads from in the input: input (x, y) = matrix * (u, v) + offset, with
 * (u, v) the output pixel. Flips, rotation, rescaling and the crop compose into one such map, so a
 * sample is resampled once, whatever the number of spatial operators.
 */
export interface SpatialMap {
  /** Row-major 2x2: [a, b, c, d] maps (u, v) to (a u + b v, c u + d v). */
  readonly matrix: readonly [number, number, number, number];
  readonly offset: readonly [number, number];
}

/** Drawn spatial parameters of one sample. */
export interface SpatialParameters {
  flipHorizontal: boolean;
  flipVertical: boolean;
  rotationDegrees: number;
  /** Output pixel spacing in mm along x and y (equal to the input's when not rescaled). */
  outputSpacing: [number, number];
  /** Crop centre, in output pixels from the centre of the transformed image. */
  cropShift: [number, number];
}

/** Identity parameters for a sample: no flip, no rotation, native spacing, centred crop. */
export function identityParameters(sample: SpacedSlice): SpatialParameters {
  return {
    flipHorizontal: false,
    flipVertical: false,
    rotationDegrees: 0,
    outputSpacing: [sample.spacing[0], sample.spacing[1]],
    cropShift: [0, 0],
  };
}

/**
 * How far the crop centre may move (output pixels, each side) and still stay inside the
 * transformed image; 0 where the image is smaller than the output, which is then zero-padded.
 */
export function cropSlack(sample: SpacedSlice, params: SpatialParameters, outWidth: number, outHeight: number): [number, number] {
  const widthMm = sample.width * sample.spacing[0];
  const heightMm = sample.height * sample.spacing[1];
  const slackX = (widthMm / params.outputSpacing[0] - outWidth) / 2;
  const slackY = (heightMm / params.outputSpacing[1] - outHeight) / 2;
  return [Math.max(0, Math.floor(slackX)), Math.max(0, Math.floor(slackY))];
}

/**
 * Builds the output-to-input map. Positions are handled in millimetres about the image centre so
 * that rotation stays rigid even when pixels are not square.
 */
export function spatialMap(sample: SpacedSlice, params: SpatialParameters, outWidth: number, outHeight: number): SpatialMap {
  const [sx, sy] = sample.spacing;
  const [ox, oy] = params.outputSpacing;
  const theta = (params.rotationDegrees * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const fx = params.flipHorizontal ? -1 : 1;
  const fy = params.flipVertical ? -1 : 1;
  // mm (relative to output centre) = diag(ox, oy) * (u - cu + shiftX, v - cv + shiftY)
  // mm in input = flip * rotation * mm;  input pixel = centre + mm_in / (sx, sy)
  const a = (fx * cos * ox) / sx;
  const b = (fx * -sin * oy) / sx;
  const c = (fy * sin * ox) / sy;
  const d = (fy * cos * oy) / sy;
  const u0 = params.cropShift[0] - (outWidth - 1) / 2;
  const v0 = params.cropShift[1] - (outHeight - 1) / 2;
  const offsetX = (sample.width - 1) / 2 + a * u0 + b * v0;
  const offsetY = (sample.height - 1) / 2 + c * u0 + d * v0;
  return { matrix: [a, b, c, d], offset: [offsetX, offsetY] };
}

/** Resamples image (bilinear) and label (nearest) through the map; outside the input reads 0. */
export function resample(
  sample: SpacedSlice,
  map: SpatialMap,
  outWidth: number,
  outHeight: number,
): { image: Float32Array; label: Uint8Array } {
  const { width, height, image, label } = sample;
  const [a, b, c, d] = map.matrix;
  const [tx, ty] = map.offset;
  const outImage = new Float32Array(outWidth * outHeight);
  const outLabel = new Uint8Array(outWidth * outHeight);
  for (let v = 0; v < outHeight; v++) {
    let x = b * v + tx;
    let y = d * v + ty;
    let o = v * outWidth;
    for (let u = 0; u < outWidth; u++, o++, x += a, y += c) {
      if (x <= -1 || y <= -1 || x >= width || y >= height) continue;
      const nx = Math.round(x);
      const ny = Math.round(y);
      if (nx >= 0 && ny >= 0 && nx < width && ny < height) outLabel[o] = label[ny * width + nx]!;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const wx = x - x0;
      const wy = y - y0;
      const inX0 = x0 >= 0;
      const inX1 = x0 + 1 < width;
      const inY0 = y0 >= 0;
      const inY1 = y0 + 1 < height;
      const row0 = y0 * width;
      const row1 = row0 + width;
      const p00 = inX0 && inY0 ? image[row0 + x0]! : 0;
      const p10 = inX1 && inY0 ? image[row0 + x0 + 1]! : 0;
      const p01 = inX0 && inY1 ? image[row1 + x0]! : 0;
      const p11 = inX1 && inY1 ? image[row1 + x0 + 1]! : 0;
      outImage[o] = (p00 * (1 - wx) + p10 * wx) * (1 - wy) + (p01 * (1 - wx) + p11 * wx) * wy;
    }
  }
  return { image: outImage, label: outLabel };
}
