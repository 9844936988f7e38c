/** A 4x4 voxel-to-world (RAS+, mm) matrix as rows, NIfTI style: world = A · [i, j, k, 1]. */
export type Affine = number[][];

export function diagonalAffine(spacing: readonly number[]): Affine {
  return [
    [spacing[0]!, 0, 0, 0],
    [0, spacing[1]!, 0, 0],
    [0, 0, spacing[2]!, 0],
    [0, 0, 0, 1],
  ];
}

/** Length of voxel axis `axis` in world units: the spacing the affine implies. */
export function axisLength(affine: Affine, axis: number): number {
  return Math.hypot(affine[0]![axis]!, affine[1]![axis]!, affine[2]![axis]!);
}

/** NIfTI quaternion parameters to an affine (nifti1_io's quatern_to_mat44). */
export function quaternionAffine(
  b: number,
  c: number,
  d: number,
  offset: readonly [number, number, number],
  pixdim: readonly [number, number, number],
  qfac: number,
): Affine {
  const a2 = 1 - (b * b + c * c + d * d);
  // Rounding can make 1 - |bcd|² slightly negative; the standard then renormalises and sets a = 0.
  let a = 0;
  if (a2 < 1e-7) {
    const n = Math.hypot(b, c, d);
    b /= n;
    c /= n;
    d /= n;
  } else {
    a = Math.sqrt(a2);
  }
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const z = qfac < 0 ? -1 : 1;
  const scale = [pixdim[0], pixdim[1], pixdim[2] * z];
  return [
    [r[0]![0]! * scale[0]!, r[0]![1]! * scale[1]!, r[0]![2]! * scale[2]!, offset[0]],
    [r[1]![0]! * scale[0]!, r[1]![1]! * scale[1]!, r[1]![2]! * scale[2]!, offset[1]],
    [r[2]![0]! * scale[0]!, r[2]![1]! * scale[1]!, r[2]![2]! * scale[2]!, offset[2]],
    [0, 0, 0, 1],
  ];
}

/** Inverse of quaternionAffine for a (near-)rigid affine: what a NIfTI-1 qform needs (nifti_mat44_to_quatern). */
export function affineToQuaternion(affine: Affine): {
  b: number;
  c: number;
  d: number;
  qfac: number;
  pixdim: [number, number, number];
  offset: [number, number, number];
} {
  const pixdim: [number, number, number] = [axisLength(affine, 0), axisLength(affine, 1), axisLength(affine, 2)];
  const col = (j: number) => [0, 1, 2].map((i) => affine[i]![j]! / (pixdim[j] || 1));
  const c0 = col(0);
  const c1 = col(1);
  let c2 = col(2);
  const det =
    c0[0]! * (c1[1]! * c2[2]! - c1[2]! * c2[1]!) -
    c1[0]! * (c0[1]! * c2[2]! - c0[2]! * c2[1]!) +
    c2[0]! * (c0[1]! * c1[2]! - c0[2]! * c1[1]!);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) c2 = c2.map((v) => -v);
  const [r11, r21, r31] = c0 as [number, number, number];
  const [r12, r22, r32] = c1 as [number, number, number];
  const [r13, r23, r33] = c2 as [number, number, number];
  let a = r11 + r22 + r33 + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac, pixdim, offset: [affine[0]![3]!, affine[1]![3]!, affine[2]![3]!] };
}
