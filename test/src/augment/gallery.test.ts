import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { galleryOperators, writeAugmentationGallery } from '@lgefed/shared/augment/index';
import { loadEmidecSlice } from './emidec-fixture.js';

describe('augmentation: gallery', () => {
  it('writes one tile per operator of a real EMIDEC slice, each different from the original', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lgefed-gallery-'));
    try {
      const slice = loadEmidecSlice();
      const out = join(dir, 'gallery.png');
      const captions = await writeAugmentationGallery(slice, out, { columns: 5 });
      assert.equal(captions.length, 1 + galleryOperators().length);
      assert.equal(captions[0], 'original');
      assert.ok(captions.includes('rotate 30') || captions.includes('rotate -30'), captions.join(' | '));
      const png = PNG.sync.read(await readFile(out));
      const rows = Math.ceil(captions.length / 5);
      assert.equal(png.width, 5 * 258 - 2);
      assert.equal(png.height, rows * 258 - 2);
      const tile = (t: number): Buffer => {
        const left = (t % 5) * 258;
        const top = Math.floor(t / 5) * 258;
        const rowsOfTile = Array.from({ length: 256 }, (_, y) => png.data.subarray(((top + y) * png.width + left) * 4, ((top + y) * png.width + left + 256) * 4));
        return Buffer.concat(rowsOfTile);
      };
      const original = tile(0);
      for (let t = 1; t < captions.length; t++) assert.ok(!tile(t).equals(original), `tile '${captions[t]}' shows no change`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
