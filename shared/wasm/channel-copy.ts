/**
 * Channel ranges between channels-last tensors: for every pixel p,
 * dst[p, dstFirst .. dstFirst+count) = src[p, srcFirst .. srcFirst+count), one bulk copy per pixel.
 * It is SplitV (a range out of x) and Concat (a part into its place) along the channel axis, which
 * the wasm backend does element by element (SplitV) or with a typed-array view per pixel (Concat):
 * the decoder's skip concatenation and its gradient cost 10 % of a lite training step.
 */

const FLOAT: usize = 4;

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
  for (let p = 0; p < pixels; p++, from += srcStride, to += dstStride) memory.copy(to, from, bytes);
}
