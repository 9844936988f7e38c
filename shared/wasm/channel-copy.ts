/**
 * Channel ranges between channels-last tensors: for every pixel p,
 * dst[p, dstFirst .. dstFirst+count) = src[p, srcFirst .. srcFirst+count), one bulk copy per pixel.
 * It is SplitV (a range out of x) and Concat (a part into its place) along the channel axis, which
 * the wasm backend does element by element (SplitV) or with a typed-array view per pixel (Concat):
 * the decoder's skip concatenation and its gradient cost 10 % of a lite training step.
 */

const FLOAT: usize = 4;
const INLINE_LIMIT: usize = 512;

export function channelCopy(
  src: usize, srcChannels: i32, srcFirst: i32,
  dst: usize, dstChannels: i32, dstFirst: i32,
  count: i32, pixels: i32,
): void {
  const bytes = <usize>count * FLOAT;
  const srcStride = <usize>srcChannels * FLOAT;
  const dstStride = <usize>dstChannels * FLOAT;
  let from = src + <usize>srcFirst * FLOAT;
  let to = dst + <usize>dstFirst * FLOAT;
  // A bulk copy costs a call into the engine per pixel, more than moving a few vectors inline:
  // the decoder's ranges (16-64 channels) go by 16-byte vectors, longer ones by memory.copy.
  if ((count & 3) != 0 || bytes > INLINE_LIMIT) {
    for (let p = 0; p < pixels; p++, from += srcStride, to += dstStride) memory.copy(to, from, bytes);
    return;
  }
  for (let p = 0; p < pixels; p++, from += srcStride, to += dstStride) {
    for (let b: usize = 0; b < bytes; b += 16) v128.store(to + b, v128.load(from + b));
  }
}
