/** 3D connected components: keep the largest component of a mask (post-processing). */
import type { Dims } from '../types.js';

export type Connectivity = 6 | 26;

function neighbourOffsets(connectivity: Connectivity): [number, number, number][] {
  const offsets: [number, number, number][] = [];
  for (let dz = -1; dz <= 1; dz++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const steps = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
        if (steps === 0 || (connectivity === 6 && steps > 1)) continue;
        offsets.push([dx, dy, dz]);
      }
  return offsets;
}

/** Component index per voxel (0 = background, components numbered 1.. in scan order) and sizes. */
export function labelComponents(mask: Uint8Array, dims: Dims, connectivity: Connectivity = 6): { labels: Int32Array; sizes: number[] } {
  const [nx, ny, nz] = dims;
  if (mask.length !== nx * ny * nz) throw new RangeError(`mask has ${mask.length} voxels, dims [${dims}] need ${nx * ny * nz}`);
  const labels = new Int32Array(mask.length);
  const sizes: number[] = [0];
  const offsets = neighbourOffsets(connectivity);
  const stack = new Int32Array(mask.length);
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    const component = sizes.length;
    let size = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = component;
    while (top > 0) {
      const i = stack[--top]!;
      size++;
      const x = i % nx;
      const y = Math.floor(i / nx) % ny;
      const z = Math.floor(i / (nx * ny));
      for (const [dx, dy, dz] of offsets) {
        const px = x + dx;
        const py = y + dy;
        const pz = z + dz;
        if (px < 0 || py < 0 || pz < 0 || px >= nx || py >= ny || pz >= nz) continue;
        const j = px + nx * (py + ny * pz);
        if (mask[j] && !labels[j]) {
          labels[j] = component;
          stack[top++] = j;
        }
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

/** The mask reduced to its largest component (the first found on a tie); empty stays empty. */
export function largestComponent(mask: Uint8Array, dims: Dims, connectivity: Connectivity = 6): Uint8Array {
  const { labels, sizes } = labelComponents(mask, dims, connectivity);
  let best = 0;
  for (let c = 1; c < sizes.length; c++) if (sizes[c]! > sizes[best]!) best = c;
  const out = new Uint8Array(mask.length);
  if (best === 0) return out;
  for (let i = 0; i < out.length; i++) out[i] = labels[i] === best ? 1 : 0;
  return out;
}
