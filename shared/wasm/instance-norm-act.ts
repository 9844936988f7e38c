/**
 * Instance norm + affine + LeakyReLU, forward and backward, in WebAssembly SIMD (AssemblyScript).
 * Same maths and layout as shared/src/engine/kernels/instance-norm-act.ts, whose JS loops remain
 * the fallback. Tensors are NHWC float32 in the imported memory (the tfjs-wasm heap); pointers are
 * byte offsets into it. One vector holds four channels of a pixel, so channels must be a multiple
 * of 4. Each group of four channels is finished (reduction pass, then element pass) before the
 * next, so its sums and coefficients stay in registers; the strided passes over one sample stay in
 * the L2 cache. Sums are float64: each float32 vector is widened into two f64x2.
 */

const FLOAT = 4;

@inline function low(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

@inline function high(v: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3));
}

/** The inverse of low/high: two f64x2 rounded back into one f32x4. */
@inline function narrow(lo: v128, hi: v128): v128 {
  return f32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** LeakyReLU' applied to d: d where the pre-activation a > 0, else alpha * d. */
@inline function leakyGrad(d: v128, a: v128, slope: v128): v128 {
  return v128.bitselect(d, f32x4.mul(d, slope), f32x4.gt(a, f32x4.splat(0)));
}

/** out = leaky(gamma * (x - mean) * invStd + beta); mean and invStd [N,C] per sample and channel. */
export function instanceNormActForward(
  x: usize, gamma: usize, beta: usize, out: usize, mean: usize, invStd: usize,
  samples: i32, pixels: i32, channels: i32, epsilon: f64, alpha: f32,
): void {
  const stride = <usize>channels * FLOAT;
  const sampleBytes = <usize>pixels * stride;
  const count = f64x2.splat(<f64>pixels);
  const slope = f32x4.splat(alpha);
  for (let n: usize = 0; n < <usize>samples; n++) {
    const start = n * sampleBytes;
    const end = start + sampleBytes;
    for (let c: usize = 0; c < stride; c += 16) {
      let s0 = f64x2.splat(0);
      let s1 = f64x2.splat(0);
      let q0 = f64x2.splat(0);
      let q1 = f64x2.splat(0);
      for (let i = start + c; i < end; i += stride) {
        const v = v128.load(x + i);
        const lo = low(v);
        const hi = high(v);
        s0 = f64x2.add(s0, lo);
        s1 = f64x2.add(s1, hi);
        q0 = f64x2.add(q0, f64x2.mul(lo, lo));
        q1 = f64x2.add(q1, f64x2.mul(hi, hi));
      }
      const m0 = f64x2.div(s0, count);
      const m1 = f64x2.div(s1, count);
      const variance0 = f64x2.max(f64x2.splat(0), f64x2.sub(f64x2.div(q0, count), f64x2.mul(m0, m0)));
      const variance1 = f64x2.max(f64x2.splat(0), f64x2.sub(f64x2.div(q1, count), f64x2.mul(m1, m1)));
      const inv0 = f64x2.div(f64x2.splat(1), f64x2.sqrt(f64x2.add(variance0, f64x2.splat(epsilon))));
      const inv1 = f64x2.div(f64x2.splat(1), f64x2.sqrt(f64x2.add(variance1, f64x2.splat(epsilon))));
      // The mean as float32 hi + lo: x - hi is exact near the mean, so a large mean costs no digits.
      const hi = narrow(m0, m1);
      const lo = narrow(f64x2.sub(m0, low(hi)), f64x2.sub(m1, high(hi)));
      v128.store(mean + n * stride + c, hi);
      v128.store(invStd + n * stride + c, narrow(inv0, inv1));
      const g = v128.load(gamma + c);
      const scale = narrow(f64x2.mul(low(g), inv0), f64x2.mul(high(g), inv1));
      const b = v128.load(beta + c);
      for (let i = start + c; i < end; i += stride) {
        const a = f32x4.add(f32x4.mul(f32x4.sub(f32x4.sub(v128.load(x + i), hi), lo), scale), b);
        v128.store(out + i, v128.bitselect(f32x4.mul(a, slope), a, f32x4.lt(a, f32x4.splat(0))));
      }
    }
  }
}

/**
 * With g = dOut * leaky'(affine) and xHat = (x - mean) * invStd:
 * dBeta = sum g, dGamma = sum g * xHat, dx = gamma * invStd * (g - mean(g) - xHat * mean(g * xHat)).
 * Channel groups outermost, so the dGamma and dBeta totals over samples stay in registers.
 */
export function instanceNormActBackward(
  dOut: usize, x: usize, mean: usize, invStd: usize, gamma: usize, beta: usize,
  dx: usize, dGamma: usize, dBeta: usize,
  samples: i32, pixels: i32, channels: i32, alpha: f32,
): void {
  const stride = <usize>channels * FLOAT;
  const sampleBytes = <usize>pixels * stride;
  const count = f64x2.splat(<f64>pixels);
  const slope = f32x4.splat(alpha);
  for (let c: usize = 0; c < stride; c += 16) {
    const gammas = v128.load(gamma + c);
    const betas = v128.load(beta + c);
    let totalG0 = f64x2.splat(0);
    let totalG1 = f64x2.splat(0);
    let totalGX0 = f64x2.splat(0);
    let totalGX1 = f64x2.splat(0);
    for (let n: usize = 0; n < <usize>samples; n++) {
      const start = n * sampleBytes;
      const end = start + sampleBytes;
      const m = v128.load(mean + n * stride + c);
      const inv = v128.load(invStd + n * stride + c);
      let g0 = f64x2.splat(0);
      let g1 = f64x2.splat(0);
      let gx0 = f64x2.splat(0);
      let gx1 = f64x2.splat(0);
      for (let i = start + c; i < end; i += stride) {
        const xHat = f32x4.mul(f32x4.sub(v128.load(x + i), m), inv);
        const g = leakyGrad(v128.load(dOut + i), f32x4.add(f32x4.mul(gammas, xHat), betas), slope);
        const gx = f32x4.mul(g, xHat);
        g0 = f64x2.add(g0, low(g));
        g1 = f64x2.add(g1, high(g));
        gx0 = f64x2.add(gx0, low(gx));
        gx1 = f64x2.add(gx1, high(gx));
      }
      totalG0 = f64x2.add(totalG0, g0);
      totalG1 = f64x2.add(totalG1, g1);
      totalGX0 = f64x2.add(totalGX0, gx0);
      totalGX1 = f64x2.add(totalGX1, gx1);
      const k0 = f64x2.mul(low(gammas), low(inv));
      const k1 = f64x2.mul(high(gammas), high(inv));
      const coefG = narrow(k0, k1);
      const coefX = narrow(f64x2.div(f64x2.mul(k0, gx0), count), f64x2.div(f64x2.mul(k1, gx1), count));
      const offset = narrow(f64x2.div(f64x2.mul(k0, g0), count), f64x2.div(f64x2.mul(k1, g1), count));
      for (let i = start + c; i < end; i += stride) {
        const xHat = f32x4.mul(f32x4.sub(v128.load(x + i), m), inv);
        const g = leakyGrad(v128.load(dOut + i), f32x4.add(f32x4.mul(gammas, xHat), betas), slope);
        v128.store(dx + i, f32x4.sub(f32x4.sub(f32x4.mul(coefG, g), offset), f32x4.mul(coefX, xHat)));
      }
    }
    v128.store(dGamma + c, narrow(totalGX0, totalGX1));
    v128.store(dBeta + c, narrow(totalG0, totalG1));
  }
}
