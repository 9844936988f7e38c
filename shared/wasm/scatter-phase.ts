/**
 * The scatter step of the strided input gradient (shared/src/engine/kernels/conv2d-backprop-input.ts):
 * one output phase, computed as a dense [batches, countH, countW, channels] convolution result, is
 * written to every stride-th pixel of dx, starting at (rowPhase, columnPhase). A pixel's channels are
 * contiguous on both sides, so each pixel is one bulk copy; JS paid a call per pixel.
 */

const FLOAT: usize = 4;

export function scatterPhase(
  part: usize, dx: usize,
  batches: i32, countH: i32, countW: i32, height: i32, width: i32, channels: i32,
  strideH: i32, strideW: i32, rowPhase: i32, columnPhase: i32,
): void {
  const pixelBytes = <usize>channels * FLOAT;
  const stepBytes = <usize>(strideW * channels) * FLOAT;
  let from = part;
  for (let b = 0; b < batches; b++) {
    for (let qh = 0; qh < countH; qh++) {
      let to = dx + <usize>(((b * height + qh * strideH + rowPhase) * width + columnPhase) * channels) * FLOAT;
      for (let qw = 0; qw < countW; qw++, from += pixelBytes, to += stepBytes) memory.copy(to, from, pixelBytes);
    }
  }
}
