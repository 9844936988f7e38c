/**
 * 95th-percentile Hausdorff distance in mm between the surfaces of two 3D masks, with anisotropic
 * spacing, defined as MedPy's `hd95` (used by nnU-Net-era challenge evaluations): the larger of the two
 * directed 95th percentiles (prediction→truth, truth→prediction; linear interpolation, as numpy).
 * Both empty: 0. Exactly one empty: Infinity (no distance exists; reports show it as null).
 */
import type { Dims, Spacing } from '../types.js';
import { squaredDistanceToSeeds } from './distance-transform.js';

/** Foreground voxels with a 6-neighbour outside the mask (the grid border counts as outside). */
export function surfaceOf(mask: Uint8Array, dims: Dims): Uint8Array {
  const [nx, ny, nz] = dims;
  const surface = new Uint8Array(mask.length);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const i = x + nx * (y + ny * z);
        if (!mask[i]) continue;
        const inside = (dx: number, dy: number, dz: number): boolean => {
          const [px, py, pz] = [x + dx, y + dy, z + dz];
          return px >= 0 && py >= 0 && pz >= 0 && px < nx && py < ny && pz < nz && mask[px + nx * (py + ny * pz)] !== 0;
        };
        const interior = inside(-1, 0, 0) && inside(1, 0, 0) && inside(0, -1, 0) && inside(0, 1, 0) && inside(0, 0, -1) && inside(0, 0, 1);
        if (!interior) surface[i] = 1;
      }
    }
  }
  return surface;
}

/** Linear-interpolated percentile (0..100) of unsorted values. */
export function percentile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

/**
 * Both masks cut to the bounding box of their union. Surfaces and distances are unchanged: every
 * voxel just outside the box is background (or off the grid, which counts the same), and every
 * surface voxel, seed or query, lies inside it. The heart fills a small part of a scan's grid, so
 * the distance transforms get an order of magnitude cheaper.
 */
export function cropToUnion(a: Uint8Array, b: Uint8Array, dims: Dims): { a: Uint8Array; b: Uint8Array; dims: Dims } {
  const [nx, ny, nz] = dims;
  const low = [nx, ny, nz];
  const high = [-1, -1, -1];
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (!a[i] && !b[i]) continue;
        if (x < low[0]!) low[0] = x;
        if (x > high[0]!) high[0] = x;
        if (y < low[1]!) low[1] = y;
        if (y > high[1]!) high[1] = y;
        if (z < low[2]!) low[2] = z;
        if (z > high[2]!) high[2] = z;
      }
    }
  }
  if (high[0]! < 0) return { a: new Uint8Array(0), b: new Uint8Array(0), dims: [0, 0, 0] };
  const [cx, cy, cz] = [high[0]! - low[0]! + 1, high[1]! - low[1]! + 1, high[2]! - low[2]! + 1];
  const outA = new Uint8Array(cx * cy * cz);
  const outB = new Uint8Array(cx * cy * cz);
  for (let z = 0; z < cz; z++) {
    for (let y = 0; y < cy; y++) {
      const from = low[0]! + nx * (low[1]! + y + ny * (low[2]! + z));
      const to = cx * (y + cy * z);
      outA.set(a.subarray(from, from + cx), to);
      outB.set(b.subarray(from, from + cx), to);
    }
  }
  return { a: outA, b: outB, dims: [cx, cy, cz] };
}

export function hausdorff95(predictedMask: Uint8Array, truthMask: Uint8Array, fullDims: Dims, spacing: Spacing): number {
  const { a: predicted, b: truth, dims } = cropToUnion(predictedMask, truthMask, fullDims);
  const surfaceP = surfaceOf(predicted, dims);
  const surfaceT = surfaceOf(truth, dims);
  const countP = surfaceP.reduce((n, v) => n + v, 0);
  const countT = surfaceT.reduce((n, v) => n + v, 0);
  if (countP === 0 && countT === 0) return 0;
  if (countP === 0 || countT === 0) return Infinity;
  const toT = squaredDistanceToSeeds(surfaceT, dims, spacing);
  const toP = squaredDistanceToSeeds(surfaceP, dims, spacing);
  const fromP = new Float64Array(countP);
  const fromT = new Float64Array(countT);
  let p = 0;
  let t = 0;
  for (let i = 0; i < surfaceP.length; i++) {
    if (surfaceP[i]) fromP[p++] = Math.sqrt(toT[i]!);
    if (surfaceT[i]) fromT[t++] = Math.sqrt(toP[i]!);
  }
  return Math.max(percentile(fromP, 95), percentile(fromT, 95));
}
