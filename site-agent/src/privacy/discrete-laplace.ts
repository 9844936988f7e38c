import { randomInt } from 'node:crypto';

/** A uniform integer in [0, n): the only randomness the sampler consumes (tests pass a seeded one). */
export type RandomInt = (n: number) => number;

/** The operating system's CSPRNG: noise must not be reproducible by anyone who could learn a seed. */
export const secureRandomInt: RandomInt = (n) => randomInt(n);

/** Bernoulli(num / den), exactly. */
const bernoulli = (num: number, den: number, random: RandomInt): boolean => random(den) < num;

/** Bernoulli(exp(-num / den)) for num ≤ den: K is the first k with Bernoulli(γ / k) = 0; true when K is odd. */
function bernoulliExpUpToOne(num: number, den: number, random: RandomInt): boolean {
  let k = 1;
  while (bernoulli(num, den * k, random)) k++;
  return k % 2 === 1;
}

/** Bernoulli(exp(-num / den)), exactly: exp(-γ) = exp(-1)^⌊γ⌋ · exp(-(γ - ⌊γ⌋)). */
function bernoulliExp(num: number, den: number, random: RandomInt): boolean {
  for (; num > den; num -= den) if (!bernoulliExpUpToOne(1, 1, random)) return false;
  return bernoulliExpUpToOne(num, den, random);
}

/**
 * One draw of the discrete Laplace distribution P(x) ∝ exp(-|x| · s / t) over the integers, for
 * positive integers s and t (t < 2^47). Canonne, Kamath & Steinke, "The Discrete Gaussian for
 * Differential Privacy" (2020), Algorithm 2: only integer arithmetic on uniform integers, so the
 * output's distribution is exact — no floating-point rounding an observer could exploit (Mironov 2012).
 */
export function discreteLaplace(s: number, t: number, random: RandomInt = secureRandomInt): number {
  for (;;) {
    const u = random(t);
    if (!bernoulliExp(u, t, random)) continue;
    let v = 0;
    while (bernoulliExp(1, 1, random)) v++;
    const y = Math.floor((u + t * v) / s);
    const negative = random(2) === 1;
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}
