/** Neighbourhood filters on a row-major [0, 1] image; each returns a new array. */

const RANGE_TABLE_SIZE = 1024;

/**
 * Edge-preserving smoothing: each pixel becomes a mean of its neighbours weighted by distance
 * (sigmaSpatial, pixels) and by intensity difference (sigmaIntensity), so the myocardium border
 * stays sharp while noise inside flat regions is averaged out. A weighted mean of neighbours
 * never leaves their range.
 */
export function bilateralFilter(
  image: Float32Array,
  width: number,
  height: number,
  sigmaSpatial: number,
  sigmaIntensity: number,
): Float32Array {
  const radius = Math.max(1, Math.ceil(2 * sigmaSpatial));
  const side = 2 * radius + 1;
  const spatialWeight = new Float32Array(side * side);
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      spatialWeight[(dy + radius) * side + dx + radius] = Math.exp(-(dx * dx + dy * dy) / (2 * sigmaSpatial * sigmaSpatial));
    }
  }
  // Range weights looked up by |difference| quantised over [0, 1]: exp() per neighbour is the cost otherwise.
  const rangeWeight = new Float32Array(RANGE_TABLE_SIZE + 1);
  for (let i = 0; i <= RANGE_TABLE_SIZE; i++) {
    const diff = i / RANGE_TABLE_SIZE;
    rangeWeight[i] = Math.exp(-(diff * diff) / (2 * sigmaIntensity * sigmaIntensity));
  }
  const out = new Float32Array(image.length);
  for (let y = 0; y < height; y++) {
    const yLow = Math.max(0, y - radius);
    const yHigh = Math.min(height - 1, y + radius);
    for (let x = 0; x < width; x++) {
      const xLow = Math.max(0, x - radius);
      const xHigh = Math.min(width - 1, x + radius);
      const centre = image[y * width + x]!;
      let sum = 0;
      let weightSum = 0;
      for (let ny = yLow; ny <= yHigh; ny++) {
        const kernelRow = (ny - y + radius) * side + radius - x;
        const imageRow = ny * width;
        for (let nx = xLow; nx <= xHigh; nx++) {
          const value = image[imageRow + nx]!;
          const diffIndex = Math.min(RANGE_TABLE_SIZE, Math.round(Math.abs(value - centre) * RANGE_TABLE_SIZE));
          const weight = spatialWeight[kernelRow + nx]! * rangeWeight[diffIndex]!;
          sum += weight * value;
          weightSum += weight;
        }
      }
      out[y * width + x] = sum / weightSum;
    }
  }
  return out;
}

/** Separable Gaussian blur (sigma in pixels), edges replicated. */
export function gaussianBlur(image: Float32Array, width: number, height: number, sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float32Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i++) total += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= total;
  const clamp = (i: number, n: number): number => (i < 0 ? 0 : i >= n ? n - 1 : i);
  const rows = new Float32Array(image.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += kernel[k + radius]! * image[y * width + clamp(x + k, width)]!;
      rows[y * width + x] = sum;
    }
  }
  const out = new Float32Array(image.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += kernel[k + radius]! * rows[clamp(y + k, height) * width + x]!;
      out[y * width + x] = sum;
    }
  }
  return out;
}

/**
 * Simulates a coarser acquisition: nearest-neighbour downsampling by `zoom` (< 1) and bilinear
 * upsampling back to the original grid.
 */
export function simulateLowResolution(image: Float32Array, width: number, height: number, zoom: number): Float32Array {
  const lowWidth = Math.max(1, Math.round(width * zoom));
  const lowHeight = Math.max(1, Math.round(height * zoom));
  const low = new Float32Array(lowWidth * lowHeight);
  for (let y = 0; y < lowHeight; y++) {
    const sourceY = Math.min(height - 1, Math.floor(((y + 0.5) * height) / lowHeight));
    for (let x = 0; x < lowWidth; x++) {
      const sourceX = Math.min(width - 1, Math.floor(((x + 0.5) * width) / lowWidth));
      low[y * lowWidth + x] = image[sourceY * width + sourceX]!;
    }
  }
  const out = new Float32Array(image.length);
  for (let y = 0; y < height; y++) {
    const ly = Math.min(lowHeight - 1, Math.max(0, ((y + 0.5) * lowHeight) / height - 0.5));
    const y0 = Math.floor(ly);
    const y1 = Math.min(lowHeight - 1, y0 + 1);
    const wy = ly - y0;
    for (let x = 0; x < width; x++) {
      const lx = Math.min(lowWidth - 1, Math.max(0, ((x + 0.5) * lowWidth) / width - 0.5));
      const x0 = Math.floor(lx);
      const x1 = Math.min(lowWidth - 1, x0 + 1);
      const wx = lx - x0;
      const top = low[y0 * lowWidth + x0]! * (1 - wx) + low[y0 * lowWidth + x1]! * wx;
      const bottom = low[y1 * lowWidth + x0]! * (1 - wx) + low[y1 * lowWidth + x1]! * wx;
      out[y * width + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}
