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

/**
 * Flips and transposes are affine in the index: the stored offset of reoriented voxel (i, j) within
 * a plane is `start + i·stepI + j·stepJ`, so a gather needs no per-voxel index table or closure.
 */
interface PlaneWalk {
  readonly nx: number;
  readonly ny: number;
  readonly start: number;
  readonly stepI: number;
  readonly stepJ: number;
}

function planeWalk(r: InPlaneReorientation, sx: number, sy: number): PlaneWalk {
  const nx = r.transpose ? sy : sx;
  const ny = r.transpose ? sx : sy;
  const offset = (i: number, j: number) => {
    const [si, sj] = storedIndex(r, i, j, nx, ny);
    return sj * sx + si;
  };
  const start = offset(0, 0);
  return { nx, ny, start, stepI: nx > 1 ? offset(1, 0) - start : 1, stepJ: ny > 1 ? offset(0, 1) - start : nx };
}

export type NumericArray = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** Reoriented in-plane dims of a stored sx × sy grid. */
export function reorientedDims(dims: readonly [number, number, number], r: InPlaneReorientation): [number, number, number] {
  return r.transpose ? [dims[1], dims[0], dims[2]] : [dims[0], dims[1], dims[2]];
}

/**
 * Copies `src` (stored order, any numeric typed array) into `out` (reoriented order), converting the
 * element type on the way: one pass, which lets the NIfTI reader decode and reorient together.
 */
export function gatherReoriented(
  src: NumericArray,
  out: Float32Array | Uint8Array,
  dims: readonly [number, number, number],
  r: InPlaneReorientation,
): void {
  const [sx, sy, nz] = dims;
  const { nx, ny, start, stepI, stepJ } = planeWalk(r, sx, sy);
  const plane = sx * sy;
  if (stepI === 1 && stepJ === nx) {
    // Identity in-plane: a typed-array copy (converting).
    out.set(src.subarray(0, plane * nz));
    return;
  }
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      let s = k * plane + start + j * stepJ;
      if (stepI === 1) {
        for (let i = 0; i < nx; i++) out[o++] = src[s++]!;
      } else {
        for (let i = 0; i < nx; i++, s += stepI) out[o++] = src[s]!;
      }
    }
  }
}

/** The affine of the reoriented grid: same world position for every voxel. */
export function reorientAffine(affine: Affine, dims: readonly [number, number, number], r: InPlaneReorientation): Affine {
  const [nx, ny] = reorientedDims(dims, r);
  const world = (i: number, j: number) => {
    const [si, sj] = storedIndex(r, i, j, nx, ny);
    return [0, 1, 2].map((row) => affine[row]![0]! * si + affine[row]![1]! * sj + affine[row]![3]!);
  };
  const origin = world(0, 0);
  const ex = world(1, 0);
  const ey = world(0, 1);
  const out: Affine = [0, 1, 2].map((row) => [ex[row]! - origin[row]!, ey[row]! - origin[row]!, affine[row]![2]!, origin[row]!]);
  out.push([0, 0, 0, 1]);
  return out;
}

/** The reorientation that takes the reoriented grid back to the stored one. */
export function inverseReorientation(r: InPlaneReorientation): InPlaneReorientation {
  // Transposing swaps which stored axis each flip acts on.
  return r.transpose ? { transpose: true, flipX: r.flipY, flipY: r.flipX } : r;
}
