/**
 * Exact Euclidean distance transform on an anisotropic 3D grid (Felzenszwalb & Huttenlocher's
 * separable lower-envelope algorithm, one pass per axis with that axis's spacing).
 */
import type { Dims, Spacing } from '../types.js';

/** 1D squared-distance transform of f along a line whose samples are `step` mm apart. */
function transformLine(f: Float64Array, n: number, step: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    if (f[q] === Infinity) continue;
    if (f[v[0]!] === Infinity) {
      v[0] = q;
      continue;
    }
    const xq = q * step;
    let s: number;
    for (;;) {
      const p = v[k]!;
      const xp = p * step;
      s = (f[q]! + xq * xq - (f[p]! + xp * xp)) / (2 * (xq - xp));
      if (s <= z[k]! && k > 0) k--;
      else break;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (f[v[0]!] === Infinity) {
    out.fill(Infinity, 0, n);
    return;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    const x = q * step;
    while (z[k + 1]! < x) k++;
    const d = x - v[k]! * step;
    out[q] = d * d + f[v[k]!]!;
  }
}

/** Squared distance in mm² from every voxel to the nearest voxel where `seeds` is non-zero (Infinity if none). */
export function squaredDistanceToSeeds(seeds: Uint8Array, dims: Dims, spacing: Spacing): Float64Array {
  const [nx, ny, nz] = dims;
  const field = new Float64Array(seeds.length);
  for (let i = 0; i < seeds.length; i++) field[i] = seeds[i] ? 0 : Infinity;
  const longest = Math.max(nx, ny, nz);
  const line = new Float64Array(longest);
  const out = new Float64Array(longest);
  const v = new Int32Array(longest);
  const z = new Float64Array(longest + 1);
  const strides = [1, nx, nx * ny] as const;
  for (let axis = 0; axis < 3; axis++) {
    const n = dims[axis]!;
    if (n === 1) continue;
    const stride = strides[axis]!;
    const [a, b] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
    for (let j = 0; j < dims[b]!; j++) {
      for (let i = 0; i < dims[a]!; i++) {
        const base = i * strides[a]! + j * strides[b]!;
        for (let q = 0; q < n; q++) line[q] = field[base + q * stride]!;
        transformLine(line, n, spacing[axis]!, out, v, z);
        for (let q = 0; q < n; q++) field[base + q * stride] = out[q]!;
      }
    }
  }
  return field;
}
