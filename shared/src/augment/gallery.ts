import { writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { Label } from '../types.js';
import { applyOperators } from './augmenter.js';
import type { OperatorSpec, Range } from './operators.js';
import { PRESETS } from './presets.js';
import { Prng } from './prng.js';
import type { SpacedSlice } from './sample.js';

export interface GalleryOptions {
  readonly seed?: number;
  readonly columns?: number;
}

export interface GalleryTile {
  /** 'original', or the operator shown, e.g. 'rotate 30', 'gamma(inverted) 1.5'. */
  readonly caption: string;
  readonly slice: SpacedSlice;
}

/** Parameter values that leave an image unchanged: the gallery shows each operator at the end of its range farthest from them. */
const IDENTITY: Record<string, number> = { degrees: 0, factor: 1, gamma: 1, shift: 0, change: 0, zoom: 1, sigma: 0 };

/** Every distinct operator of the shipped presets (paper first, then nnU-Net's extra kinds). */
export function galleryOperators(): OperatorSpec[] {
  const seen = new Set<string>();
  const result: OperatorSpec[] = [];
  for (const op of [...PRESETS.paper.operators, ...PRESETS.nnunet.operators]) {
    const key = operatorKey(op);
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(op);
  }
  return result;
}

function operatorKey(op: OperatorSpec): string {
  if (op.kind === 'flip') return `flip ${op.axis}`;
  if (op.kind === 'gamma') return op.inverted ? 'inverse gamma' : 'gamma';
  return op.kind;
}

/** The operator with every range collapsed to its most visible end. */
function atExtreme(op: OperatorSpec, sample: SpacedSlice): { op: OperatorSpec; caption: string } {
  const fixed: Record<string, unknown> = { ...op, p: 1 };
  const shown: string[] = [];
  for (const [key, value] of Object.entries(op)) {
    if (!Array.isArray(value)) continue;
    const [low, high] = value as unknown as Range;
    const identity = key === 'spacingMm' ? sample.spacing[0] : (IDENTITY[key] ?? 0);
    const extreme = Math.abs(low - identity) > Math.abs(high - identity) ? low : high;
    fixed[key] = [extreme, extreme];
    shown.push(`${extreme}`);
  }
  return { op: fixed as OperatorSpec, caption: [operatorKey(op), ...shown].join(' ') };
}

/** The original slice and one tile per operator, each at the network size of the input slice. */
export function galleryTiles(slice: SpacedSlice, seed = 1): GalleryTile[] {
  const size = { outputWidth: slice.width, outputHeight: slice.height };
  const prng = new Prng(seed);
  const tiles: GalleryTile[] = [{ caption: 'original', slice: applyOperators(slice, [], 'centre', size, prng) }];
  for (const op of galleryOperators()) {
    const { op: fixed, caption } = atExtreme(op, slice);
    tiles.push({ caption, slice: applyOperators(slice, [fixed], 'centre', size, prng) });
  }
  return tiles;
}

const OUTLINE_COLOURS: Record<number, readonly [number, number, number]> = {
  [Label.bloodpool]: [255, 60, 60],
  [Label.myocardium]: [60, 220, 60],
};

/**
 * Writes a PNG grid of `slice` under each operator, label borders drawn in colour (blood pool red,
 * myocardium green) so that image/label alignment can be checked by eye. Returns the captions in
 * row-major tile order.
 */
export async function writeAugmentationGallery(slice: SpacedSlice, outPng: string, options: GalleryOptions = {}): Promise<string[]> {
  const tiles = galleryTiles(slice, options.seed ?? 1);
  const columns = options.columns ?? 5;
  const rows = Math.ceil(tiles.length / columns);
  const gap = 2;
  const { width, height } = slice;
  const png = new PNG({ width: columns * (width + gap) - gap, height: rows * (height + gap) - gap });
  png.data.fill(0);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  tiles.forEach((tile, t) => drawTile(png, tile.slice, (t % columns) * (width + gap), Math.floor(t / columns) * (height + gap)));
  await writeFile(outPng, PNG.sync.write(png));
  return tiles.map((tile) => tile.caption);
}

function drawTile(png: PNG, slice: SpacedSlice, left: number, top: number): void {
  const { width, height, image, label } = slice;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const at = ((top + y) * png.width + left + x) * 4;
      const value = label[i]!;
      const onBorder =
        value !== 0 &&
        (x === 0 || y === 0 || x === width - 1 || y === height - 1 ||
          label[i - 1] !== value || label[i + 1] !== value || label[i - width] !== value || label[i + width] !== value);
      const colour = onBorder ? OUTLINE_COLOURS[value] : undefined;
      const grey = Math.round(image[i]! * 255);
      png.data[at] = colour ? colour[0] : grey;
      png.data[at + 1] = colour ? colour[1] : grey;
      png.data[at + 2] = colour ? colour[2] : grey;
    }
  }
}
