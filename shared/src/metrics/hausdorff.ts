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

export function hausdorff95(predicted: Uint8Array, truth: Uint8Array, dims: Dims, spacing: Spacing): number {
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
