import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { SpacedSlice } from '@lgefed/shared/augment/index';

/** Real EMIDEC slices shipped with the development data (never needed by the product itself). */
export const EMIDEC_DIR = '/work/shared/data/emidec-lge-slices';

/** EMIDEC stores no spacing in its PNGs; its in-plane spacing is 1.37-1.88 mm. */
export const EMIDEC_ASSUMED_SPACING_MM = 1.6;

/**
 * Loads one EMIDEC slice as a [0, 1] image with our labels (infarct and no-reflow count as
 * myocardium).
 */
export function loadEmidecSlice(name = 'Case_N006_slice003'): SpacedSlice {
  const image = PNG.sync.read(readFileSync(`${EMIDEC_DIR}/images/${name}.png`));
  const label = PNG.sync.read(readFileSync(`${EMIDEC_DIR}/labels/${name}.png`));
  const { width, height } = image;
  const imageData = new Float32Array(width * height);
  const labelData = new Uint8Array(width * height);
  for (let i = 0; i < width * height; i++) {
    imageData[i] = image.data[i * 4]! / 255;
    const raw = label.data[i * 4]!;
    labelData[i] = raw >= 2 ? 2 : raw;
  }
  return { image: imageData, label: labelData, width, height, spacing: [EMIDEC_ASSUMED_SPACING_MM, EMIDEC_ASSUMED_SPACING_MM] };
}
