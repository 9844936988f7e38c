import type { Case } from '@lgefed/shared';

/** A synthetic annotated case: `depth` slices of a bright disc (blood pool) in a darker ring (myocardium). */
export function ringCase(id: string, size = 24, depth = 2, shift = 0): Case {
  const plane = size * size;
  const image = new Float32Array(plane * depth);
  const label = new Uint8Array(plane * depth);
  for (let k = 0; k < depth; k++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const r = Math.hypot(x - size / 2 - shift, y - size / 2 + 1);
        const l = r < 3 + k * 0.5 ? 1 : r < 6 ? 2 : 0;
        label[k * plane + y * size + x] = l;
        image[k * plane + y * size + x] = l === 1 ? 200 : l === 2 ? 70 : 20 + 10 * Math.sin(x * 1.7 + y);
      }
    }
  }
  const dims = [size, size, depth] as const;
  const spacing = [1.5, 1.5, 10] as const;
  return { id, source: `${id} (synthetic)`, image: { data: image, dims, spacing }, label: { data: label, dims, spacing } };
}
