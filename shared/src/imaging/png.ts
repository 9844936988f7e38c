import { readFile, writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { DataError } from './errors.js';

/** A single-channel image as read from a PNG: raw sample values (8- or 16-bit), row-major. */
export interface GrayImage {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** Decodes a PNG to grey values; colour PNGs must be grey in disguise (R = G = B), as exported label maps are. */
export function decodePngGray(bytes: Uint8Array, file: string): GrayImage {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (err) {
    throw new DataError('bad-png', file, `not a readable PNG (${(err as Error).message})`);
  }
  const { width, height } = png;
  // pngjs expands every colour type to RGBA; with skipRescale 16-bit data comes back as 16-bit samples.
  const samples = png.data as unknown as ArrayLike<number>;
  const out = new Float32Array(width * height);
  for (let i = 0, p = 0; i < out.length; i++, p += 4) {
    const r = samples[p]!;
    if (samples[p + 1] !== r || samples[p + 2] !== r) {
      throw new DataError('bad-png', file, `pixel ${i % width},${Math.floor(i / width)} is coloured; a grey image is expected`);
    }
    out[i] = r;
  }
  return { data: out, width, height };
}

export async function readPngGray(file: string): Promise<GrayImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new DataError('not-found', file, `cannot read file (${(err as Error).message})`);
  }
  return decodePngGray(bytes, file);
}

/** Encodes 8-bit grey (values clamped to 0..255) or RGB (3 values per pixel) as a PNG. */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Uint8Array {
  const png = new PNG({ width, height, colorType: channels === 1 ? 0 : 2, inputColorType: channels === 1 ? 0 : 2, inputHasAlpha: false });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2, inputColorType: channels === 1 ? 0 : 2, inputHasAlpha: false });
}

export async function writePng(file: string, pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<void> {
  await writeFile(file, encodePng(pixels, width, height, channels));
}
