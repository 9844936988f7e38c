import assert from 'node:assert/strict';
import type { Case } from '@lgefed/shared';
import { loadDataset, preprocessCase } from '@lgefed/shared/imaging/index';

const EMIDEC_PNG = '/work/shared/data/emidec-lge-slices';

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

  it('rejects a bad network size with a typed error', () => {
    assert.throws(() => preprocessCase(cases[0]!, { size: 3 }), /network input size/);
  });
});
