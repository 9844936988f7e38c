import assert from 'node:assert/strict';
import type { Case } from '@lgefed/shared';
import { loadDataset, preprocessCase, restorePrediction } from '@lgefed/shared/imaging/index';

const EMIDEC_PNG = '/work/shared/data/emidec-lge-slices';

function dice(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! > 0 && a[i] === b[i]) inter++;
    sum += (a[i]! > 0 ? 1 : 0) + (b[i]! > 0 ? 1 : 0);
  }
  return (2 * inter) / sum;
}

describe('imaging: preprocessing', function () {
  let cases: Case[];
  before(async () => {
    cases = (await loadDataset(EMIDEC_PNG, { defaultSpacing: [1.5, 1.5, 10] })).cases.slice(0, 12);
  });

  it('crops to the network size, normalises each cropped slice to [0, 1] and keeps the heart in the window', () => {
    for (const c of cases) {
      const { slices, transform } = preprocessCase(c, { size: 128 });
      assert.equal(slices.length, c.image.dims[2]);
      assert.equal(transform.centredOn, 'labels');
      for (const s of slices) {
        assert.equal(s.image.length, 128 * 128);
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of s.image) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
        assert.ok(lo === 0 && (hi === 1 || hi === 0));
      }
      const inWindow = slices.reduce((n, s) => n + s.label.filter((v) => v > 0).length, 0);
      const total = c.label!.data.filter((v) => v > 0).length;
      assert.equal(inWindow, total, `${c.id}: all foreground inside the crop`);
    }
  });

  it('restorePrediction is the exact inverse of the crop (padding included) without resampling', () => {
    const c = cases[3]!;
    for (const size of [128, 320]) {
      const { slices, transform } = preprocessCase(c, { size });
      const restored = restorePrediction(slices.map((s) => s.label), transform);
      assert.deepEqual(restored.dims, c.image.dims);
      assert.deepEqual(restored.data, c.label!.data, `size ${size}`);
    }
    // A window smaller than the heart: inside it the labels come back exactly, outside is background.
    const { slices, transform } = preprocessCase(c, { size: 40 });
    const restored = restorePrediction(slices.map((s) => s.label), transform).data;
    const [w, h] = c.image.dims;
    restored.forEach((v, i) => {
      const x = i % w;
      const y = Math.floor(i / w) % h;
      const inside = x >= transform.cropX && x < transform.cropX + 40 && y >= transform.cropY && y < transform.cropY + 40;
      assert.equal(v, inside ? c.label!.data[i] : 0);
    });
  });

  it('with resampling to a target spacing, the restored labels land on the original grid (Dice > 0.9)', () => {
    const c = cases[5]!;
    for (const target of [[1.0, 1.0], [2.2, 1.8]] as [number, number][]) {
      const { slices, transform } = preprocessCase(c, { size: 256, targetSpacing: target });
      assert.equal(transform.resampledWidth, Math.round((256 * 1.5) / target[0]));
      const restored = restorePrediction(slices.map((s) => s.label), transform);
      assert.deepEqual(restored.dims, c.image.dims);
      assert.ok(dice(restored.data, c.label!.data) > 0.9, `target ${target}`);
    }
  });

  it('at inference, the image-only heart centre lands within 20 mm of the labelled centre on most real cases', () => {
    let near = 0;
    for (const c of cases) {
      const byLabel = preprocessCase(c, { size: 128 }).transform;
      const byImage = preprocessCase({ ...c, label: undefined } as Case, { size: 128 }).transform;
      assert.equal(byImage.centredOn, 'image');
      const mm = Math.hypot(byLabel.cropX - byImage.cropX, byLabel.cropY - byImage.cropY) * 1.5;
      if (mm < 20) near++;
    }
    assert.ok(near >= cases.length - 1, `${near}/${cases.length} within 20 mm`);
  });

  it('rejects a bad network size with a typed error', () => {
    assert.throws(() => preprocessCase(cases[0]!, { size: 3 }), /network input size/);
  });
});
