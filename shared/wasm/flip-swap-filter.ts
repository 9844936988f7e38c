/**
 * The filter of a convolution's input gradient (shared/src/engine/kernels/conv2d-backprop-input.ts):
 * dst[kh, kw, b, a] = src[KH-1-kh, KW-1-kw, a, b], src [KH, KW, A, B]. Flipping both spatial axes
 * reverses the flattened tap index, so each tap is one A x B -> B x A transpose, done in 4x4 blocks
 * of vector loads, shuffles and stores (a JS loop took ~90 ms at 1024 x 1024 channels).
 */

const FLOAT: usize = 4;

export function flipSwapFilter(src: usize, dst: usize, taps: i32, a: i32, b: i32): void {
  const aFours = a & ~3;
  const bFours = b & ~3;
  const tapFloats = <usize>a * <usize>b;
  const srcRow = <usize>b * FLOAT;
  const dstRow = <usize>a * FLOAT;
  for (let t = 0; t < taps; t++) {
    const from = src + <usize>(taps - 1 - t) * tapFloats * FLOAT;
    const to = dst + <usize>t * tapFloats * FLOAT;
    for (let i = 0; i < aFours; i += 4) {
      for (let j = 0; j < bFours; j += 4) {
        const p = from + (<usize>i * <usize>b + <usize>j) * FLOAT;
        const r0 = v128.load(p), r1 = v128.load(p + srcRow), r2 = v128.load(p + 2 * srcRow), r3 = v128.load(p + 3 * srcRow);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const q = to + (<usize>j * <usize>a + <usize>i) * FLOAT;
        v128.store(q, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(q + dstRow, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
        v128.store(q + 2 * dstRow, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
        v128.store(q + 3 * dstRow, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
      }
      for (let j = bFours; j < b; j++) {
        for (let k = i; k < i + 4; k++) store<f32>(to + (<usize>j * <usize>a + <usize>k) * FLOAT, load<f32>(from + (<usize>k * <usize>b + <usize>j) * FLOAT));
      }
    }
    for (let i = aFours; i < a; i++) {
      for (let j = 0; j < b; j++) store<f32>(to + (<usize>j * <usize>a + <usize>i) * FLOAT, load<f32>(from + (<usize>i * <usize>b + <usize>j) * FLOAT));
    }
  }
}
