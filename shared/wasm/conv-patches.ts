/**
 * The patch matrix of Conv2DBackpropFilter (shared/src/engine/kernels/conv2d-backprop-filter.ts)
 * for stride-1 convolutions, read straight from the NHWC input: row (kh, kw, ci), column
 * (b, oh, ow) holds x[b, oh + kh - top, ow + kw - left, ci], zero where that lies in the padding.
 * Output rows (b, oh) are numbered b * height + oh, and one call fills a range of them, so the
 * caller can cut the product into pieces whose operands stay in cache.
 * Each input row is read once: 4x4 tiles (4 pixels x 4 channels) are transposed in registers and
 * stored, 4 output pixels at a time, into every (kh, kw) row that uses them. This replaces a
 * transpose of x plus a gather of one short row copy per (kh, kw, ci, b, oh), which cost more
 * than the matrix product itself. Needs CI and W divisible by 4.
 */

const FLOAT: usize = 4;

/** Zeroes `count` floats of a patch row from column `column`. */
@inline
function zero(rowStart: usize, column: i32, count: i32): void {
  if (count > 0) memory.fill(rowStart + <usize>column * FLOAT, 0, <usize>count * FLOAT);
}

/** Start of patch row (kh, kw, ci). */
@inline
function rowOf(dst: usize, rowBytes: usize, kernelWidth: i32, channels: i32, kh: i32, kw: i32, ci: i32): usize {
  return dst + <usize>((kh * kernelWidth + kw) * channels + ci) * rowBytes;
}

export function stride1Patches(
  x: usize, dst: usize,
  firstRow: i32, rowCount: i32, height: i32, width: i32, channels: i32,
  kernelHeight: i32, kernelWidth: i32, top: i32, left: i32,
): void {
  const rowBytes = <usize>(rowCount * width) * FLOAT;
  const endRow = firstRow + rowCount;
  // Padding first: whole output rows whose input row is outside the image, and the columns whose
  // input column is; the tile stores below never touch either.
  for (let kh = 0; kh < kernelHeight; kh++) {
    for (let kw = 0; kw < kernelWidth; kw++) {
      const shift = left - kw; // ow = iw + shift
      for (let ci = 0; ci < channels; ci++) {
        const row = rowOf(dst, rowBytes, kernelWidth, channels, kh, kw, ci);
        for (let r = firstRow; r < endRow; r++) {
          const column = (r - firstRow) * width;
          const ih = (r % height) + kh - top;
          if (ih < 0 || ih >= height) {
            zero(row, column, width);
            continue;
          }
          zero(row, column, min(shift, width));
          zero(row, column + max(0, width + shift), min(-shift, width));
        }
      }
    }
  }
  // Output row r reads input rows r + kh - top of its own image: a superset of those (rows of the
  // wrong image are skipped by the image check below), clamped to the range's last image.
  const firstInput = max(0, firstRow - top);
  const endInput = min(endRow + kernelHeight - 1 - top, ((endRow - 1) / height + 1) * height);
  for (let input = firstInput; input < endInput; input++) {
    const ih = input % height;
    const imageStart = input - ih;
    const source = x + <usize>(input * width * channels) * FLOAT;
    for (let ci = 0; ci < channels; ci += 4) {
      for (let iw = 0; iw < width; iw += 4) {
        const pixel = source + <usize>(iw * channels + ci) * FLOAT;
        const step = <usize>channels * FLOAT;
        const a = v128.load(pixel);
        const p = v128.load(pixel + step);
        const c = v128.load(pixel + 2 * step);
        const d = v128.load(pixel + 3 * step);
        const ab01 = f32x4.shuffle(a, p, 0, 4, 1, 5);
        const ab23 = f32x4.shuffle(a, p, 2, 6, 3, 7);
        const cd01 = f32x4.shuffle(c, d, 0, 4, 1, 5);
        const cd23 = f32x4.shuffle(c, d, 2, 6, 3, 7);
        // Channel ci + k of the 4 pixels iw..iw+3.
        const t0 = f32x4.shuffle(ab01, cd01, 0, 1, 4, 5);
        const t1 = f32x4.shuffle(ab01, cd01, 2, 3, 6, 7);
        const t2 = f32x4.shuffle(ab23, cd23, 0, 1, 4, 5);
        const t3 = f32x4.shuffle(ab23, cd23, 2, 3, 6, 7);
        for (let kh = 0; kh < kernelHeight; kh++) {
          const oh = ih - kh + top;
          const r = imageStart + oh;
          if (oh < 0 || oh >= height || r < firstRow || r >= endRow) continue;
          const rowColumn = (r - firstRow) * width;
          for (let kw = 0; kw < kernelWidth; kw++) {
            const ow = iw + left - kw;
            if (ow >= 0 && ow + 4 <= width) {
              const at = <usize>(rowColumn + ow) * FLOAT;
              v128.store(rowOf(dst, rowBytes, kernelWidth, channels, kh, kw, ci) + at, t0);
              v128.store(rowOf(dst, rowBytes, kernelWidth, channels, kh, kw, ci + 1) + at, t1);
              v128.store(rowOf(dst, rowBytes, kernelWidth, channels, kh, kw, ci + 2) + at, t2);
              v128.store(rowOf(dst, rowBytes, kernelWidth, channels, kh, kw, ci + 3) + at, t3);
              continue;
            }
            // A tile straddling the image edge: only its lanes that land inside the row.
            for (let lane = 0; lane < 4; lane++) {
              const column = ow + lane;
              if (column < 0 || column >= width) continue;
              const at = <usize>(rowColumn + column) * FLOAT;
              const from = pixel + <usize>lane * step;
              store<f32>(rowOf(dst, rowBytes, kernelWidth, channels, kh, kw, ci) + at, load<f32>(from));
              store<f32>(rowOf(dst, rowBytes, kernelWidth, channels, kh, kw, ci + 1) + at, load<f32>(from + 4));
              store<f32>(rowOf(dst, rowBytes, kernelWidth, channels, kh, kw, ci + 2) + at, load<f32>(from + 8));
              store<f32>(rowOf(dst, rowBytes, kernelWidth, channels, kh, kw, ci + 3) + at, load<f32>(from + 12));
            }
          }
        }
      }
    }
  }
}
