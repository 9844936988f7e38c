/** Shared checks and helpers for metrics on label volumes (pure TypeScript, no tfjs). */
import type { Dims, LabelVolume, Spacing } from '../types.js';

export class MetricsInputError extends Error {
  override readonly name = 'MetricsInputError';
}

export function voxelCount(dims: Dims): number {
  return dims[0] * dims[1] * dims[2];
}

/** Throws unless both volumes share dims and spacing (within 1e-3 mm) and their data fits the dims. */
export function checkSameGrid(a: LabelVolume, b: LabelVolume): void {
  for (const v of [a, b]) {
    if (v.data.length !== voxelCount(v.dims)) throw new MetricsInputError(`volume data has ${v.data.length} voxels, dims [${v.dims}] need ${voxelCount(v.dims)}`);
    if (v.spacing.some((s) => !(s > 0) || !Number.isFinite(s))) throw new MetricsInputError(`spacing [${v.spacing}] must be positive millimetres`);
  }
  if (a.dims.some((d, i) => d !== b.dims[i])) throw new MetricsInputError(`prediction dims [${a.dims}] differ from truth dims [${b.dims}]`);
  if (a.spacing.some((s, i) => Math.abs(s - b.spacing[i]!) > 1e-3)) {
    throw new MetricsInputError(`prediction spacing [${a.spacing}] differs from truth spacing [${b.spacing}]`);
  }
}

/** Binary mask of one label. */
export function maskOf(volume: LabelVolume, label: number): Uint8Array {
  const mask = new Uint8Array(volume.data.length);
  for (let i = 0; i < mask.length; i++) mask[i] = volume.data[i] === label ? 1 : 0;
  return mask;
}

/** Volume of a mask in millilitres (1 ml = 1000 mm³). */
export function volumeMl(mask: Uint8Array, spacing: Spacing): number {
  let count = 0;
  for (let i = 0; i < mask.length; i++) count += mask[i]!;
  return (count * spacing[0] * spacing[1] * spacing[2]) / 1000;
}
