/**
 * What a person checks after training a harmoniser: a gallery of held-out site slices before and
 * after translation next to reference slices, and the distance to the reference as training went.
 */
import type { VegaLiteSpec } from '../plots/render.js';
import type { GreyImage } from './patches.js';
import type { ValidationDistance } from './protocol.js';

export interface GalleryImage {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Grey tiles, one row per list, up to `columns` images each (centre square, intensities 0-1 to 0-255). */
export function renderTranslationGallery(rows: readonly (readonly GreyImage[])[], columns: number, tile = 160): GalleryImage {
  const width = tile * columns;
  const height = tile * rows.length;
  const pixels = new Uint8Array(width * height);
  rows.forEach((images, row) => {
    images.slice(0, columns).forEach(({ image, width: w, height: h }, column) => {
      const side = Math.min(w, h);
      const x0 = (w - side) / 2;
      const y0 = (h - side) / 2;
      for (let ty = 0; ty < tile; ty++) {
        const sy = Math.min(h - 1, Math.floor(y0 + ((ty + 0.5) * side) / tile));
        for (let tx = 0; tx < tile; tx++) {
          const sx = Math.min(w - 1, Math.floor(x0 + ((tx + 0.5) * side) / tile));
          const v = image[sy * w + sx]!;
          pixels[(row * tile + ty) * width + column * tile + tx] = Math.round(Math.min(1, Math.max(0, v)) * 255);
        }
      }
    });
  });
  return { pixels, width, height };
}

/** `count` items spread evenly over `items` (all of them when there are fewer). */
export function spreadPick<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor(((i + 0.5) * items.length) / count)]!);
}

/** W1 of the translated held-out slices against iterations; the untrained generator's value as a dashed rule. */
export function translationDistanceSpec(distances: readonly ValidationDistance[], title: string): VegaLiteSpec {
  const untrained = distances.find((d) => d.iteration === 0)?.wasserstein1;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 420,
    height: 220,
    layer: [
      {
        data: { values: distances.map((d) => ({ iteration: d.iteration, wasserstein1: d.wasserstein1 })) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
          y: { field: 'wasserstein1', type: 'quantitative', title: 'Wasserstein-1 to the reference (held-out slices)', scale: { zero: true } },
          tooltip: [{ field: 'iteration' }, { field: 'wasserstein1', format: '.4f', title: 'W1' }],
        },
      },
      ...(untrained === undefined
        ? []
        : [
            {
              data: { values: [{ untrained }] },
              mark: { type: 'rule' as const, strokeDash: [4, 4], color: 'grey' },
              encoding: { y: { field: 'untrained', type: 'quantitative' as const } },
            },
          ]),
    ],
  };
}
