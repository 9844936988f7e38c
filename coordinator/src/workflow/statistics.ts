/**
 * Summary statistics that travel instead of per-case values: a site sends n, mean and sd of a
 * metric; the coordinator derives 95 % confidence intervals and pools across sites.
 */
export interface MetricSummary {
  readonly n: number;
  readonly mean: number;
  readonly sd: number;
}

export interface MetricWithInterval extends MetricSummary {
  readonly ci95: readonly [number, number];
}

/**
 * Two-sided 95 % CI of the mean with Student's t (df = n - 1); degenerate for n < 2. Clamped to
 * [0, 1]: every metric summarised here is a Dice score, and a few cases with a wide spread would
 * otherwise give intervals such as -0.50 to 1.49.
 */
export function withInterval(s: MetricSummary): MetricWithInterval {
  if (s.n < 2) return { ...s, ci95: [s.mean, s.mean] };
  const half = studentTQuantile(0.975, s.n - 1) * (s.sd / Math.sqrt(s.n));
  return { ...s, ci95: [Math.max(0, s.mean - half), Math.min(1, s.mean + half)] };
}

/** Combines per-site summaries into the summary of all their cases (exact for sample sd). */
export function pool(parts: readonly MetricSummary[]): MetricSummary {
  const n = parts.reduce((a, p) => a + p.n, 0);
  if (n === 0) return { n: 0, mean: NaN, sd: NaN };
  const mean = parts.reduce((a, p) => a + p.n * p.mean, 0) / n;
  const ss = parts.reduce((a, p) => a + (p.n - 1) * p.sd * p.sd + p.n * (p.mean - mean) ** 2, 0);
  return { n, mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}

export function summarise(values: readonly number[]): MetricSummary {
  const n = values.length;
  if (n === 0) return { n: 0, mean: NaN, sd: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { n, mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}

const quantileCache = new Map<string, number>();

/**
 * Quantile of Student's t by bisection on its CDF (regularised incomplete beta). Memoised: a
 * cross-site matrix asks for the same few (p, df) pairs hundreds of times.
 */
export function studentTQuantile(p: number, df: number): number {
  const key = `${p}:${df}`;
  const cached = quantileCache.get(key);
  if (cached !== undefined) return cached;
  let lo = 0;
  let hi = 1000;
  // 64 halvings of [0, 1000] reach double precision.
  for (let i = 0; i < 64; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  const q = (lo + hi) / 2;
  quantileCache.set(key, q);
  return q;
}

function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(x, a, b)) / a : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

// Lentz's method (Numerical Recipes §6.4).
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    for (const numerator of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + numerator * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + numerator / c;
      if (Math.abs(c) < tiny) c = tiny;
      const delta = d * c;
      h *= delta;
      if (Math.abs(delta - 1) < 1e-16) return h;
    }
  }
  return h;
}

// Lanczos approximation (g = 7, n = 9).
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
function logGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const zz = z - 1;
  let x = LANCZOS[0]!;
  for (let i = 1; i < 9; i++) x += LANCZOS[i]! / (zz + i);
  const t = zz + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (zz + 0.5) * Math.log(t) - t + Math.log(x);
}
