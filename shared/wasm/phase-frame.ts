/**
 * One phase of an NHWC input as zero-framed channel planes, for Conv2DBackpropFilter by shifted
 * products (shared/src/engine/kernels/conv2d-backprop-filter.ts). For stride s, phase (p, q) is
 * x[b, s*i + p, s*j + q, c]; frame cell (r, col) holds phase row i = r + firstRow and column
 * j = col + firstColumn, zero where that lies outside the image. The output is [C, B, FH, FW]:
 * each channel one contiguous row of B*FH*FW floats, the operand layout of a matrix product.
 * Channels in fours go through 4x4 register transposes (4 pixels x 4 channels per step).
 */

const FLOAT: usize = 4;

/** The frame columns [start, end) whose input column lies inside the image. */
@inline
function validColumns(width: i32, stride: i32, phase: i32, first: i32, frameWidth: i32): i64 {
  let start = 0;
  while (start < frameWidth && stride * (start + first) + phase < 0) start++;
  let end = start;
  while (end < frameWidth && stride * (end + first) + phase < width) end++;
  return (<i64>start << 32) | <i64>end;
}

export function phaseFrame(
  x: usize, dst: usize,
  batches: i32, height: i32, width: i32, channels: i32,
  stride: i32, rowPhase: i32, columnPhase: i32, firstRow: i32, firstColumn: i32,
  frameHeight: i32, frameWidth: i32,
): void {
  const span = validColumns(width, stride, columnPhase, firstColumn, frameWidth);
  const colStart = <i32>(span >> 32);
  const colEnd = <i32>(span & 0xffffffff);
  const frameBytes = <usize>(frameHeight * frameWidth) * FLOAT;
  const planeBytes = <usize>batches * frameBytes;
  const rowBytes = <usize>frameWidth * FLOAT;
  const pixelBytes = <usize>channels * FLOAT;
  const stepBytes = <usize>stride * pixelBytes;
  // Zeros first: whole frame rows outside the image and the columns outside it in the others.
  for (let c = 0; c < channels; c++) {
    for (let b = 0; b < batches; b++) {
      const frame = dst + <usize>c * planeBytes + <usize>b * frameBytes;
      for (let r = 0; r < frameHeight; r++) {
        const row = frame + <usize>r * rowBytes;
        const xr = stride * (r + firstRow) + rowPhase;
        if (xr < 0 || xr >= height || colStart >= colEnd) {
          memory.fill(row, 0, rowBytes);
          continue;
        }
        if (colStart > 0) memory.fill(row, 0, <usize>colStart * FLOAT);
        if (colEnd < frameWidth) memory.fill(row + <usize>colEnd * FLOAT, 0, <usize>(frameWidth - colEnd) * FLOAT);
      }
    }
  }
  if (colStart >= colEnd) return;
  const firstX = stride * (colStart + firstColumn) + columnPhase;
  const vectorChannels = channels & ~3;
  for (let b = 0; b < batches; b++) {
    for (let r = 0; r < frameHeight; r++) {
      const xr = stride * (r + firstRow) + rowPhase;
      if (xr < 0 || xr >= height) continue;
      const source = x + <usize>((b * height + xr) * width + firstX) * pixelBytes;
      const target = dst + <usize>b * frameBytes + <usize>r * rowBytes + <usize>colStart * FLOAT;
      let c = 0;
      for (; c < vectorChannels; c += 4) {
        const plane0 = target + <usize>c * planeBytes;
        let col = colStart;
        let pixel = source + <usize>c * FLOAT;
        let out = plane0;
        for (; col + 4 <= colEnd; col += 4, pixel += 4 * stepBytes, out += 4 * FLOAT) {
          const a = v128.load(pixel);
          const p = v128.load(pixel + stepBytes);
          const q = v128.load(pixel + 2 * stepBytes);
          const d = v128.load(pixel + 3 * stepBytes);
          const ap01 = f32x4.shuffle(a, p, 0, 4, 1, 5);
          const ap23 = f32x4.shuffle(a, p, 2, 6, 3, 7);
          const qd01 = f32x4.shuffle(q, d, 0, 4, 1, 5);
          const qd23 = f32x4.shuffle(q, d, 2, 6, 3, 7);
          v128.store(out, f32x4.shuffle(ap01, qd01, 0, 1, 4, 5));
          v128.store(out + planeBytes, f32x4.shuffle(ap01, qd01, 2, 3, 6, 7));
          v128.store(out + 2 * planeBytes, f32x4.shuffle(ap23, qd23, 0, 1, 4, 5));
          v128.store(out + 3 * planeBytes, f32x4.shuffle(ap23, qd23, 2, 3, 6, 7));
        }
        for (; col < colEnd; col++, pixel += stepBytes, out += FLOAT) {
          store<f32>(out, load<f32>(pixel));
          store<f32>(out + planeBytes, load<f32>(pixel + 4));
          store<f32>(out + 2 * planeBytes, load<f32>(pixel + 8));
          store<f32>(out + 3 * planeBytes, load<f32>(pixel + 12));
        }
      }
      for (; c < channels; c++) {
        let pixel = source + <usize>c * FLOAT;
        let out = target + <usize>c * planeBytes;
        for (let col = colStart; col < colEnd; col++, pixel += stepBytes, out += FLOAT) store<f32>(out, load<f32>(pixel));
      }
    }
  }
}
