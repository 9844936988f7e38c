/**
 * Conv2DBackpropFilter as direct accumulation, no patch matrix and no framed copy of x:
 * dW[kh, kw, ci, co] += sum over (b, oh, ow) of x[b, oh*sh + kh - top, ow*sw + kw - left, ci] * dy[b, oh, ow, co]
 * for samples [firstBatch, firstBatch + batches), NHWC x and dy, dW [KH, KW, CI, CO] (accumulated
 * into, so threads can each take samples into their own dW). Any channel counts: vector tiles for
 * channels in fours, narrower ones for the rest.
 * Work goes in blocks of output rows small enough to stay in cache while every tap, input-channel
 * tile and output-channel tile passes over them (the products' operands are read from cache, not
 * memory, unlike one matrix product per tap over the whole image). The inner kernel is a 4x8
 * register tile (4 input channels, splatted, times 8 output channels). Each splat is a load, not a
 * shuffle of one loaded vector: on x86 the four shuffles per step made the shuffle port the bound
 * (32 GFLOP/s on one core with shuffles, 48 with splat loads, lite U-Net shapes).
 */

const FLOAT: usize = 4;
/** Bytes of dy (or x) rows per block: well inside a core's L2 cache with the other operand. */
const BLOCK_BYTES: i32 = 96 * 1024;

/** dW[ci0..ci0+3, co0..co0+7] += x rows . dy rows over a rows x cols pixel window. */
@inline
function tile4x8(
  xStart: usize, dyStart: usize, rows: i32, cols: i32,
  xRow: usize, xCol: usize, dyRow: usize, dyCol: usize,
  dw: usize, coBytes: usize,
): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    let xp = xStart + <usize>r * xRow;
    let dp = dyStart + <usize>r * dyRow;
    for (let c = 0; c < cols; c++, xp += xCol, dp += dyCol) {
      const g0 = v128.load(dp);
      const g1 = v128.load(dp, 16);
      const s0 = v128.load32_splat(xp);
      a0 = f32x4.add(a0, f32x4.mul(s0, g0));
      a1 = f32x4.add(a1, f32x4.mul(s0, g1));
      const s1 = v128.load32_splat(xp, 4);
      b0 = f32x4.add(b0, f32x4.mul(s1, g0));
      b1 = f32x4.add(b1, f32x4.mul(s1, g1));
      const s2 = v128.load32_splat(xp, 8);
      c0 = f32x4.add(c0, f32x4.mul(s2, g0));
      c1 = f32x4.add(c1, f32x4.mul(s2, g1));
      const s3 = v128.load32_splat(xp, 12);
      d0 = f32x4.add(d0, f32x4.mul(s3, g0));
      d1 = f32x4.add(d1, f32x4.mul(s3, g1));
    }
  }
  v128.store(dw, f32x4.add(v128.load(dw), a0));
  v128.store(dw, f32x4.add(v128.load(dw, 16), a1), 16);
  dw += coBytes;
  v128.store(dw, f32x4.add(v128.load(dw), b0));
  v128.store(dw, f32x4.add(v128.load(dw, 16), b1), 16);
  dw += coBytes;
  v128.store(dw, f32x4.add(v128.load(dw), c0));
  v128.store(dw, f32x4.add(v128.load(dw, 16), c1), 16);
  dw += coBytes;
  v128.store(dw, f32x4.add(v128.load(dw), d0));
  v128.store(dw, f32x4.add(v128.load(dw, 16), d1), 16);
}

/** dW[ci0..ci0+3, co0..co0+3] += ... (output channels in fours only). */
@inline
function tile4x4(
  xStart: usize, dyStart: usize, rows: i32, cols: i32,
  xRow: usize, xCol: usize, dyRow: usize, dyCol: usize,
  dw: usize, coBytes: usize,
): void {
  let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    let xp = xStart + <usize>r * xRow;
    let dp = dyStart + <usize>r * dyRow;
    for (let k = 0; k < cols; k++, xp += xCol, dp += dyCol) {
      const g = v128.load(dp);
      a = f32x4.add(a, f32x4.mul(v128.load32_splat(xp), g));
      b = f32x4.add(b, f32x4.mul(v128.load32_splat(xp, 4), g));
      c = f32x4.add(c, f32x4.mul(v128.load32_splat(xp, 8), g));
      d = f32x4.add(d, f32x4.mul(v128.load32_splat(xp, 12), g));
    }
  }
  v128.store(dw, f32x4.add(v128.load(dw), a));
  v128.store(dw + coBytes, f32x4.add(v128.load(dw + coBytes), b));
  v128.store(dw + 2 * coBytes, f32x4.add(v128.load(dw + 2 * coBytes), c));
  v128.store(dw + 3 * coBytes, f32x4.add(v128.load(dw + 3 * coBytes), d));
}

/** One input channel (the channels left over after fours) times 4 output channels. */
@inline
function tile1x4(
  xStart: usize, dyStart: usize, rows: i32, cols: i32,
  xRow: usize, xCol: usize, dyRow: usize, dyCol: usize,
  dw: usize,
): void {
  let a = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    let xp = xStart + <usize>r * xRow;
    let dp = dyStart + <usize>r * dyRow;
    for (let k = 0; k < cols; k++, xp += xCol, dp += dyCol) a = f32x4.add(a, f32x4.mul(v128.load32_splat(xp), v128.load(dp)));
  }
  v128.store(dw, f32x4.add(v128.load(dw), a));
}

/** Four input channels times one output channel (output channels left over after fours). */
@inline
function tile4x1(
  xStart: usize, dyStart: usize, rows: i32, cols: i32,
  xRow: usize, xCol: usize, dyRow: usize, dyCol: usize,
  dw: usize, coBytes: usize,
): void {
  let a = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    let xp = xStart + <usize>r * xRow;
    let dp = dyStart + <usize>r * dyRow;
    for (let k = 0; k < cols; k++, xp += xCol, dp += dyCol) a = f32x4.add(a, f32x4.mul(v128.load(xp), v128.load32_splat(dp)));
  }
  store<f32>(dw, load<f32>(dw) + f32x4.extract_lane(a, 0));
  store<f32>(dw + coBytes, load<f32>(dw + coBytes) + f32x4.extract_lane(a, 1));
  store<f32>(dw + 2 * coBytes, load<f32>(dw + 2 * coBytes) + f32x4.extract_lane(a, 2));
  store<f32>(dw + 3 * coBytes, load<f32>(dw + 3 * coBytes) + f32x4.extract_lane(a, 3));
}

/** One input channel times one output channel: what neither vector tile covers. */
@inline
function tile1x1(
  xStart: usize, dyStart: usize, rows: i32, cols: i32,
  xRow: usize, xCol: usize, dyRow: usize, dyCol: usize,
  dw: usize,
): void {
  let a: f32 = 0;
  for (let r = 0; r < rows; r++) {
    let xp = xStart + <usize>r * xRow;
    let dp = dyStart + <usize>r * dyRow;
    for (let k = 0; k < cols; k++, xp += xCol, dp += dyCol) a += load<f32>(xp) * load<f32>(dp);
  }
  store<f32>(dw, load<f32>(dw) + a);
}

export function filterGradient(
  x: usize, dy: usize, dw: usize,
  firstBatch: i32, batches: i32,
  height: i32, width: i32, inChannels: i32,
  outHeight: i32, outWidth: i32, outChannels: i32,
  kernelHeight: i32, kernelWidth: i32, strideH: i32, strideW: i32, top: i32, left: i32,
): void {
  const ciBytes = <usize>inChannels * FLOAT;
  const coBytes = <usize>outChannels * FLOAT;
  const xRow = <usize>strideH * <usize>width * ciBytes;
  const xCol = <usize>strideW * ciBytes;
  const dyRow = <usize>outWidth * coBytes;
  const dyCol = coBytes;
  const widest = inChannels > outChannels ? inChannels : outChannels;
  let blockRows = BLOCK_BYTES / (outWidth * widest * <i32>FLOAT);
  if (blockRows < 1) blockRows = 1;
  const ciFours = inChannels & ~3;
  const coEights = outChannels & ~7;
  const coFours = outChannels & ~3;
  for (let b = firstBatch; b < firstBatch + batches; b++) {
    for (let r0 = 0; r0 < outHeight; r0 += blockRows) {
      const r1 = r0 + blockRows < outHeight ? r0 + blockRows : outHeight;
      for (let kh = 0; kh < kernelHeight; kh++) {
        // Output rows of the block whose input row oh*sh + kh - top lies inside the image.
        let ohLo = r0;
        while (ohLo < r1 && ohLo * strideH + kh - top < 0) ohLo++;
        let ohHi = r1;
        while (ohHi > ohLo && (ohHi - 1) * strideH + kh - top >= height) ohHi--;
        const rows = ohHi - ohLo;
        if (rows <= 0) continue;
        for (let kw = 0; kw < kernelWidth; kw++) {
          let owLo = 0;
          while (owLo < outWidth && owLo * strideW + kw - left < 0) owLo++;
          let owHi = outWidth;
          while (owHi > owLo && (owHi - 1) * strideW + kw - left >= width) owHi--;
          const cols = owHi - owLo;
          if (cols <= 0) continue;
          const ih = ohLo * strideH + kh - top;
          const iw = owLo * strideW + kw - left;
          const xPixel = x + (<usize>(b * height + ih) * <usize>width + <usize>iw) * ciBytes;
          const dyPixel = dy + (<usize>(b * outHeight + ohLo) * <usize>outWidth + <usize>owLo) * coBytes;
          const dwTap = dw + <usize>(kh * kernelWidth + kw) * <usize>inChannels * coBytes;
          let ci = 0;
          for (; ci < ciFours; ci += 4) {
            const xs = xPixel + <usize>ci * FLOAT;
            const dwRow = dwTap + <usize>ci * coBytes;
            let co = 0;
            for (; co < coEights; co += 8) {
              tile4x8(xs, dyPixel + <usize>co * FLOAT, rows, cols, xRow, xCol, dyRow, dyCol, dwRow + <usize>co * FLOAT, coBytes);
            }
            for (; co < coFours; co += 4) {
              tile4x4(xs, dyPixel + <usize>co * FLOAT, rows, cols, xRow, xCol, dyRow, dyCol, dwRow + <usize>co * FLOAT, coBytes);
            }
            for (; co < outChannels; co++) {
              tile4x1(xs, dyPixel + <usize>co * FLOAT, rows, cols, xRow, xCol, dyRow, dyCol, dwRow + <usize>co * FLOAT, coBytes);
            }
          }
          for (; ci < inChannels; ci++) {
            const xs = xPixel + <usize>ci * FLOAT;
            const dwRow = dwTap + <usize>ci * coBytes;
            let co = 0;
            for (; co < coFours; co += 4) {
              tile1x4(xs, dyPixel + <usize>co * FLOAT, rows, cols, xRow, xCol, dyRow, dyCol, dwRow + <usize>co * FLOAT);
            }
            for (; co < outChannels; co++) {
              tile1x1(xs, dyPixel + <usize>co * FLOAT, rows, cols, xRow, xCol, dyRow, dyCol, dwRow + <usize>co * FLOAT);
            }
          }
        }
      }
    }
  }
}
