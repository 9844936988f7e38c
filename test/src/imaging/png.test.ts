import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { DataError, decodePngSamples } from '@lgefed/shared/imaging/index';
import { python } from './nibabel.js';

const EMIDEC_IMAGES = '/work/shared/data/emidec-lge-slices/images';

/** A greyscale PNG whose rows use the given filter types in turn (PNG encoders pick them adaptively). */
function pngWithFilters(samples: Uint8Array | Uint16Array, width: number, height: number, filters: number[]): Uint8Array {
  const bpp = samples instanceof Uint16Array ? 2 : 1;
  const stride = width * bpp;
  const rows = new Uint8Array(height * stride);
  for (let i = 0; i < samples.length; i++) {
    if (bpp === 1) rows[i] = samples[i]!;
    else [rows[2 * i], rows[2 * i + 1]] = [samples[i]! >> 8, samples[i]! & 255];
  }
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const filter = filters[y % filters.length]!;
    raw[y * (stride + 1)] = filter;
    for (let i = 0; i < stride; i++) {
      const x = rows[y * stride + i]!;
      const a = i >= bpp ? rows[y * stride + i - bpp]! : 0;
      const b = y > 0 ? rows[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? rows[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter]!;
      raw[y * (stride + 1) + 1 + i] = (x - predicted) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bpp * 8;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), lengthPrefixed('IHDR', ihdr), lengthPrefixed('IDAT', deflateSync(raw)), lengthPrefixed('IEND', new Uint8Array())]);
}

describe('imaging: PNG slice decoder', function () {
  it('decodes real EMIDEC slices exactly as scikit-image does', async () => {
    const names = (await readdir(EMIDEC_IMAGES)).filter((_, i) => i % 97 === 0);
    const files = names.map((n) => join(EMIDEC_IMAGES, n));
    const theirs = await python<number[][]>(
      'from skimage import io\nprint(json.dumps([io.imread(f).astype(int).flatten().tolist() for f in sys.argv[1:]]))',
      files,
    );
    for (const [k, file] of files.entries()) {
      const ours = decodePngSamples(await readFile(file), file);
      assert.deepEqual([...ours.samples], theirs[k], file);
    }
  });

  it('reverses every row filter type (none, sub, up, average, Paeth) for 8- and 16-bit samples', () => {
    const [w, h] = [13, 11];
    const eight = Uint8Array.from({ length: w * h }, (_, i) => (i * 37 + ((i * i) >> 3)) & 255);
    const sixteen = Uint16Array.from({ length: w * h }, (_, i) => (i * 4099 + ((i * i * 31) >> 2)) & 65535);
    for (const samples of [eight, sixteen]) {
      for (const filters of [[0], [1], [2], [3], [4], [4, 3, 2, 1, 0]]) {
        const decoded = decodePngSamples(pngWithFilters(samples, w, h, filters), 'synthetic.png');
        assert.deepEqual([...decoded.samples], [...samples], `${samples.constructor.name} filters ${filters.join(',')}`);
      }
    }
  });

  it('gives a typed error for an unknown filter type and for truncated pixel data', () => {
    const samples = new Uint8Array(16).fill(7);
    const bad = pngWithFilters(samples, 4, 4, [0]);
    const rawWithFilter9 = deflateSync(Uint8Array.from([9, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4]));
    const idatAt = 8 + 25;
    const withFilter9 = Buffer.concat([Buffer.from(bad.subarray(0, idatAt)), lengthPrefixed('IDAT', rawWithFilter9), Buffer.from(bad.subarray(bad.length - 12))]);
    const truncated = Buffer.concat([Buffer.from(bad.subarray(0, idatAt)), lengthPrefixed('IDAT', deflateSync(new Uint8Array(7))), Buffer.from(bad.subarray(bad.length - 12))]);
    for (const [bytes, reason] of [[withFilter9, /unknown filter type 9/], [truncated, /truncated/]] as const) {
      assert.throws(() => decodePngSamples(bytes, 'x.png'), (err: unknown) => err instanceof DataError && err.code === 'bad-png' && reason.test(err.message) && err.message.includes('x.png'));
    }
  });
});

/** A PNG chunk; the CRC is left zero since our reader, like most, does not check it. */
function lengthPrefixed(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  return out;
}

