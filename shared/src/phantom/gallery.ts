import { Tissue } from './anatomy.js';
import type { PhantomCase } from './generate.js';

const OVERLAY: Record<number, [number, number, number]> = {
  [Tissue.lvBlood]: [230, 60, 60],
  [Tissue.lvMyocardium]: [60, 200, 80],
  [Tissue.scar]: [250, 220, 40],
  [Tissue.noReflow]: [60, 110, 250],
  [Tissue.rvBlood]: [170, 90, 220],
};

/**
 * A picture a person can check: one column per case, the mid-ventricular slice on top and the same
 * slice with blood pool (red), myocardium (green), scar (yellow), no-reflow (blue), RV (purple) below.
 */
export function renderGallery(cases: readonly PhantomCase[], tile = 160): { pixels: Uint8Array; width: number; height: number } {
  const width = tile * cases.length;
  const height = tile * 2;
  const pixels = new Uint8Array(width * height * 3);
  cases.forEach((c, column) => {
    const [w, h, depth] = c.image.dims;
    const k = Math.floor(depth * 0.45);
    const plane = w * h;
    const slice = c.image.data.subarray(k * plane, (k + 1) * plane);
    const sorted = Float32Array.from(slice).sort();
    const top = sorted[Math.floor(sorted.length * 0.995)]! || 1;
    const side = Math.min(w, h);
    const x0 = (w - side) / 2;
    const y0 = (h - side) / 2;
    for (let ty = 0; ty < tile; ty++) {
      for (let tx = 0; tx < tile; tx++) {
        const sx = Math.min(w - 1, Math.floor(x0 + ((tx + 0.5) * side) / tile));
        const sy = Math.min(h - 1, Math.floor(y0 + ((ty + 0.5) * side) / tile));
        const grey = Math.min(255, Math.round((slice[sy * w + sx]! / top) * 255));
        const colour = OVERLAY[c.tissues[k * plane + sy * w + sx]!];
        const upper = (ty * width + column * tile + tx) * 3;
        const lower = ((ty + tile) * width + column * tile + tx) * 3;
        pixels.fill(grey, upper, upper + 3);
        for (let ch = 0; ch < 3; ch++) pixels[lower + ch] = colour ? Math.round(0.45 * grey + 0.55 * colour[ch]!) : grey;
      }
    }
  });
  return { pixels, width, height };
}
