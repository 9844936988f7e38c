import type { Affine } from './affine.js';

/**
 * Which in-plane flips/transpose turned the stored grid into the consistent one. Only the two in-plane
 * axes change: the slice axis (base→apex order as the site stored it) is left alone.
 */
export interface InPlaneReorientation {
  readonly transpose: boolean;
  readonly flipX: boolean;
  readonly flipY: boolean;
}

export const IDENTITY_REORIENTATION: InPlaneReorientation = { transpose: false, flipX: false, flipY: false };

// Radiological short-axis display: columns run toward the patient's left, rows toward posterior-inferior.
const TARGET_X = [1, 0, 0];
const TARGET_Y = [0, -Math.SQRT1_2, -Math.SQRT1_2];

function direction(affine: Affine, axis: number): number[] {
  const v = [affine[0]![axis]!, affine[1]![axis]!, affine[2]![axis]!];
  const n = Math.hypot(v[0]!, v[1]!, v[2]!) || 1;
  return v.map((x) => x / n);
}

const dot = (a: number[], b: number[]) => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;

/**
 * Chooses, among the 8 in-plane flips/transposes, the one whose axes best match the radiological
 * short-axis view, so every site's slices look the same way up whatever their scanner stored.
 * Ties keep the stored grid (identity is tried first).
 */
export function chooseInPlaneReorientation(affine: Affine): InPlaneReorientation {
  const c0 = direction(affine, 0);
  const c1 = direction(affine, 1);
  let best = IDENTITY_REORIENTATION;
  let bestScore = -Infinity;
  for (const transpose of [false, true]) {
    for (const flipX of [false, true]) {
      for (const flipY of [false, true]) {
        const u0 = (transpose ? c1 : c0).map((v) => (flipX ? -v : v));
        const u1 = (transpose ? c0 : c1).map((v) => (flipY ? -v : v));
        const score = dot(u0, TARGET_X) + dot(u1, TARGET_Y);
        if (score > bestScore + 1e-9) {
          bestScore = score;
          best = { transpose, flipX, flipY };
        }
      }
    }
  }
  return best;
}

/** Stored in-plane index of the reoriented voxel (i, j); `nx`, `ny` are the reoriented in-plane dims. */
function storedIndex(r: InPlaneReorientation, i: number, j: number, nx: number, ny: number): [number, number] {
  const a = r.flipX ? nx - 1 - i : i;
  const b = r.flipY ? ny - 1 - j : j;
  return r.transpose ? [b, a] : [a, b];
}

/** Applies `r` to a volume (x fastest) and its affine; returns new data, dims and affine. */
export function reorientInPlane<T extends Float32Array | Uint8Array>(
  data: T,
  dims: readonly [number, number, number],
  affine: Affine,
  r: InPlaneReorientation,
): { data: T; dims: [number, number, number]; affine: Affine } {
  const [sx, sy, nz] = dims;
  const nx = r.transpose ? sy : sx;
  const ny = r.transpose ? sx : sy;
  if (!r.transpose && !r.flipX && !r.flipY) return { data, dims: [sx, sy, nz], affine };
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const plane = sx * sy;
  // One index map per plane, reused for every slice.
  const from = new Int32Array(plane);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const [si, sj] = storedIndex(r, i, j, nx, ny);
      from[j * nx + i] = sj * sx + si;
    }
  }
  for (let k = 0; k < nz; k++) {
    const base = k * plane;
    for (let p = 0; p < plane; p++) out[base + p] = data[base + from[p]!]!;
  }
  const world = (i: number, j: number) => {
    const [si, sj] = storedIndex(r, i, j, nx, ny);
    return [0, 1, 2].map((row) => affine[row]![0]! * si + affine[row]![1]! * sj + affine[row]![3]!);
  };
  const origin = world(0, 0);
  const ex = world(1, 0);
  const ey = world(0, 1);
  const newAffine: Affine = [0, 1, 2].map((row) => [
    ex[row]! - origin[row]!,
    ey[row]! - origin[row]!,
    affine[row]![2]!,
    origin[row]!,
  ]);
  newAffine.push([0, 0, 0, 1]);
  return { data: out, dims: [nx, ny, nz], affine: newAffine };
}
