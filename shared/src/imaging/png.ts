import { writeFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { checkDecodedSize, type DecodeLimit } from './decode-limit.js';
import { DataError } from './errors.js';
import { readBytes } from './files.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Raw grey sample values as stored: 8-bit or 16-bit. */
export interface GraySamples {
  readonly samples: Uint8Array | Uint16Array;
  readonly width: number;
  readonly height: number;
}

/** Reverses PNG row filters in place order (`raw` has one filter byte per row); one tight loop per filter type. */
function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number, file: string): Uint8Array {
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    const up = dst - stride;
    const first = y === 0;
    switch (filter) {
      case 0:
        rows.set(raw.subarray(src, src + stride), dst);
        break;
      case 1:
        for (let i = 0; i < bpp; i++) rows[dst + i] = raw[src + i]!;
        for (let i = bpp; i < stride; i++) rows[dst + i] = raw[src + i]! + rows[dst + i - bpp]!;
        break;
      case 2:
        if (first) rows.set(raw.subarray(src, src + stride), dst);
        else for (let i = 0; i < stride; i++) rows[dst + i] = raw[src + i]! + rows[up + i]!;
        break;
      case 3:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? rows[dst + i - bpp]! : 0;
          const b = first ? 0 : rows[up + i]!;
          rows[dst + i] = raw[src + i]! + ((a + b) >> 1);
        }
        break;
      case 4: {
        // Paeth: the left edge (no a, c) and the first row (no b, c) reduce to simpler predictors.
        for (let i = 0; i < bpp; i++) rows[dst + i] = raw[src + i]! + (first ? 0 : rows[up + i]!);
        if (first) {
          for (let i = bpp; i < stride; i++) rows[dst + i] = raw[src + i]! + rows[dst + i - bpp]!;
          break;
        }
        for (let i = bpp; i < stride; i++) {
          const a = rows[dst + i - bpp]!;
          const b = rows[up + i]!;
          const c = rows[up + i - bpp]!;
          const pa = b > c ? b - c : c - b; // |p - a| with p = a + b - c
          const pb = a > c ? a - c : c - a;
          const pab = a + b - c - c;
          const pc = pab < 0 ? -pab : pab;
          rows[dst + i] = raw[src + i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
        }
        break;
      }
      default:
        throw new DataError('bad-png', file, `row ${y} has unknown filter type ${filter}`);
    }
  }
  return rows;
}

/**
 * Fast path for what slice exports almost always are (8/16-bit greyscale, not interlaced): native
 * inflate plus per-filter unfilter loops, ~10x faster than pngjs. Returns undefined for anything else.
 */
function decodeGrayFast(bytes: Uint8Array, file: string): GraySamples | undefined {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24]!;
  if (bytes[25] !== 0 || bytes[28] !== 0 || (depth !== 8 && depth !== 16)) return undefined;
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (type === 'IDAT') idat.push(bytes.subarray(at + 8, at + 8 + length));
    if (type === 'IEND') break;
    at += 12 + length;
  }
  const bpp = depth / 8;
  const stride = width * bpp;
  const expected = height * (stride + 1);
  let raw: Uint8Array;
  try {
    // Knowing the exact output size lets zlib inflate in one go; more than the header's rows is refused, not inflated.
    raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat), { chunkSize: Math.max(64, expected), maxOutputLength: Math.max(1, expected) });
  } catch (err) {
    throw new DataError('bad-png', file, `compressed pixel data is corrupt (${(err as Error).message})`);
  }
  if (raw.length < expected) throw new DataError('bad-png', file, `pixel data is truncated (${raw.length} of ${expected} bytes)`);
  const rows = unfilter(raw, height, stride, bpp, file);
  if (depth === 8) return { samples: rows, width, height };
  const samples = new Uint16Array(width * height);
  for (let i = 0; i < samples.length; i++) samples[i] = (rows[2 * i]! << 8) | rows[2 * i + 1]!;
  return { samples, width, height };
}

/**
 * Refuses a PNG whose header asks for more than the decode limit, before any pixel is inflated. The size
 * is what pngjs allocates (RGBA, 16-bit samples as two bytes), at least what the fast path needs.
 */
function checkPngSize(bytes: Uint8Array, file: string, limit: DecodeLimit): void {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) return; // not a PNG: the decoders say so
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width === 0 || height === 0) throw new DataError('bad-png', file, `image is ${width}x${height} pixels`);
  checkDecodedSize(width * height * 4 * (bytes[24] === 16 ? 2 : 1), limit, file, `${width}x${height} pixel image`);
}

/** Decodes a PNG to its grey samples; colour PNGs must be grey in disguise (R = G = B), as exported label maps are. */
export function decodePngSamples(bytes: Uint8Array, file: string, limit: DecodeLimit = {}): GraySamples {
  checkPngSize(bytes, file, limit);
  const fast = decodeGrayFast(bytes, file);
  if (fast) return fast;
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (err) {
    throw new DataError('bad-png', file, `not a readable PNG (${(err as Error).message})`);
  }
  const { width, height } = png;
  // pngjs expands every colour type to RGBA; with skipRescale 16-bit data comes back as 16-bit samples.
  const rgba = png.data as unknown as ArrayLike<number>;
  const out = new Uint16Array(width * height);
  for (let i = 0, p = 0; i < out.length; i++, p += 4) {
    const r = rgba[p]!;
    if (rgba[p + 1] !== r || rgba[p + 2] !== r) {
      throw new DataError('bad-png', file, `pixel ${i % width},${Math.floor(i / width)} is coloured; a grey image is expected`);
    }
    out[i] = r;
  }
  return { samples: out, width, height };
}

export async function readPngSamples(file: string, limit: DecodeLimit = {}): Promise<GraySamples> {
  return decodePngSamples(await readBytes(file), file, limit);
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
