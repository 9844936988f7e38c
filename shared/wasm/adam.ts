/**
 * One Adam step of one variable in WebAssembly SIMD (AssemblyScript): tf.train.adam's float32
 * operations in its order, each rounded as tfjs rounds it, so the result has the same bits as
 * shared/src/model/adam.ts's op path in one pass over memory instead of about a dozen. Pointers are
 * byte offsets into the imported memory (the tfjs-wasm heap); `count` needs no alignment.
 *   m' = m * beta1 + g * (1 - beta1)            v' = v * beta2 + g² * (1 - beta2)
 *   x' = (m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t)) + epsilon) * -rate + x
 * The bias corrections 1 - beta^t are float32 scalars in memory, as the optimizer keeps them.
 */

const FLOAT = 4;

export function adamUpdate(
  x: usize, g: usize, m: usize, v: usize, xOut: usize, mOut: usize, vOut: usize, count: i32,
  beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32,
  correction1: usize, correction2: usize, epsilon: f32, negRate: f32,
): void {
  const end = <usize>count * FLOAT;
  const vectorEnd = end & ~15;
  const b1 = f32x4.splat(beta1);
  const c1 = f32x4.splat(oneMinusBeta1);
  const b2 = f32x4.splat(beta2);
  const c2 = f32x4.splat(oneMinusBeta2);
  const k1 = v128.load_splat<f32>(correction1);
  const k2 = v128.load_splat<f32>(correction2);
  const eps = f32x4.splat(epsilon);
  const rate = f32x4.splat(negRate);
  for (let i: usize = 0; i < vectorEnd; i += 16) {
    const gi = v128.load(g + i);
    const mi = f32x4.add(f32x4.mul(v128.load(m + i), b1), f32x4.mul(gi, c1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + i), b2), f32x4.mul(f32x4.mul(gi, gi), c2));
    v128.store(mOut + i, mi);
    v128.store(vOut + i, vi);
    const step = f32x4.div(f32x4.div(mi, k1), f32x4.add(f32x4.sqrt(f32x4.div(vi, k2)), eps));
    v128.store(xOut + i, f32x4.add(f32x4.mul(step, rate), v128.load(x + i)));
  }
  const s1 = load<f32>(correction1);
  const s2 = load<f32>(correction2);
  for (let i = vectorEnd; i < end; i += FLOAT) {
    const gi = load<f32>(g + i);
    const mi = load<f32>(m + i) * beta1 + gi * oneMinusBeta1;
    const vi = load<f32>(v + i) * beta2 + gi * gi * oneMinusBeta2;
    store<f32>(mOut + i, mi);
    store<f32>(vOut + i, vi);
    store<f32>(xOut + i, ((mi / s1) / (Mathf.sqrt(vi / s2) + epsilon)) * negRate + load<f32>(x + i));
  }
}
