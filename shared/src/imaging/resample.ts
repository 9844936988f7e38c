/**
 * In-plane resampling of one slice (row-major, x fastest) to a new width/height covering the same field
 * of view: pixel centres map by x_src = (x_dst + 0.5) · (w_src / w_dst) − 0.5, so down- and up-sampling
 * are aligned the same way and the inverse mapping is well defined.
 */
export function sourceCoordinate(dst: number, srcSize: number, dstSize: number): number {
  return (dst + 0.5) * (srcSize / dstSize) - 0.5;
}

/** Bilinear interpolation with edge clamping, for images. */
export function resampleLinear(src: Float32Array, w: number, h: number, dw: number, dh: number): Float32Array {
  const out = new Float32Array(dw * dh);
  const xs = new Int32Array(dw);
  const xw = new Float32Array(dw);
  for (let x = 0; x < dw; x++) {
    const sx = Math.min(Math.max(sourceCoordinate(x, w, dw), 0), w - 1);
    xs[x] = Math.min(Math.floor(sx), w - 2 < 0 ? 0 : w - 2);
    xw[x] = w > 1 ? sx - xs[x]! : 0;
  }
  for (let y = 0; y < dh; y++) {
    const sy = Math.min(Math.max(sourceCoordinate(y, h, dh), 0), h - 1);
    const y0 = Math.min(Math.floor(sy), h - 2 < 0 ? 0 : h - 2);
    const fy = h > 1 ? sy - y0 : 0;
    const r0 = y0 * w;
    const r1 = h > 1 ? r0 + w : r0;
    for (let x = 0; x < dw; x++) {
      const x0 = xs[x]!;
      const x1 = w > 1 ? x0 + 1 : x0;
      const fx = xw[x]!;
      const top = src[r0 + x0]! + (src[r0 + x1]! - src[r0 + x0]!) * fx;
      const bottom = src[r1 + x0]! + (src[r1 + x1]! - src[r1 + x0]!) * fx;
      out[y * dw + x] = top + (bottom - top) * fy;
    }
  }
  return out;
}

/** Nearest-neighbour, for label maps (never invents label values). */
export function resampleNearest(src: Uint8Array, w: number, h: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh);
  const xs = new Int32Array(dw);
  for (let x = 0; x < dw; x++) xs[x] = Math.min(w - 1, Math.max(0, Math.round(sourceCoordinate(x, w, dw))));
  for (let y = 0; y < dh; y++) {
    const row = Math.min(h - 1, Math.max(0, Math.round(sourceCoordinate(y, h, dh)))) * w;
    for (let x = 0; x < dw; x++) out[y * dw + x] = src[row + xs[x]!]!;
  }
  return out;
}
