/**
 * A slice of the channel axis: out[p, 0..count) = x[p, first..first+count) for every pixel p of a
 * channels-last tensor, one bulk copy per pixel. The wasm backend's SplitV slices element by element,
 * and the decoder's concat gradient (split back into the up-sampled and skip halves) was 8 % of a
 * lite training step for what is a plain copy.
 */

const FLOAT: usize = 4;

export function channelSlice(x: usize, out: usize, pixels: i32, channels: i32, first: i32, count: i32): void {
  const bytes = <usize>count * FLOAT;
  const stride = <usize>channels * FLOAT;
  let from = x + <usize>first * FLOAT;
  let to = out;
  for (let p = 0; p < pixels; p++, from += stride, to += bytes) memory.copy(to, from, bytes);
}
