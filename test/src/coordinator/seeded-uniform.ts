/** A seeded uniform source in [0, 1) (mulberry32), so test data and DP noise are reproducible. */
export function seededUniform(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded stand-in for the agent's CSPRNG integers (privacy/discrete-laplace.ts), for reproducible DP noise. */
export function seededRandomInt(seed: number): (n: number) => number {
  const uniform = seededUniform(seed);
  return (n) => Math.floor(uniform() * n);
}
