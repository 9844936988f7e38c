/**
 * DepthToSpace (NHWC, DCR order) for the up-convolutions' transposed GEMM
 * (shared/src/engine/kernels/conv2d-backprop-input.ts): out[b, h*block + i, w*block + j, c] =
 * x[b, h, w, (i*block + j)*channels + c], one bulk copy of `channels` floats per (pixel, i, j); the
 * wasm backend's kernel moves one element at a time.
 */

const FLOAT: usize = 4;

export function depthToSpace(x: usize, out: usize, batches: i32, height: i32, width: i32, block: i32, channels: i32): void {
  const piece = <usize>channels * FLOAT;
  const outWidth = width * block;
  let from = x;
  for (let b = 0; b < batches; b++) {
    for (let h = 0; h < height; h++) {
      for (let w = 0; w < width; w++) {
        for (let i = 0; i < block; i++) {
          let to = out + <usize>(((b * height * block + h * block + i) * outWidth + w * block) * channels) * FLOAT;
          for (let j = 0; j < block; j++, from += piece, to += piece) memory.copy(to, from, piece);
        }
      }
    }
  }
}
