import assert from 'node:assert/strict';
import type { Case } from '@lgefed/shared';
import { argmaxClassPlanes, loadDataset, normaliseIntensity, preprocessWholeSlices, resampleNearest, restoreWholeSliceProbabilities, type WholeSliceTransform } from '@lgefed/shared/imaging/index';
import { dice } from '@lgefed/shared/metrics/index';

const EMIDEC_PNG = '/work/shared/data/emidec-lge-slices';
const SUNNYBROOK = '/work/shared/data/sunnybrook-cine-nifti';

const foreground = (labels: Uint8Array): Uint8Array => labels.map((v) => (v > 0 ? 1 : 0));
const CLASSES = 3;
/** Labels as certain class probabilities, classes interleaved, as a prediction would hand them over. */
const oneHot = (labels: Uint8Array): Float32Array => {
  const out = new Float32Array(labels.length * CLASSES);
  labels.forEach((v, i) => (out[i * CLASSES + v] = 1));
  return out;
};
const restoreWholeSlices = (probabilities: Float32Array[], transform: WholeSliceTransform) =>
  argmaxClassPlanes(restoreWholeSliceProbabilities(probabilities, CLASSES, transform), CLASSES, transform.originalDims, transform.originalSpacing);

describe('imaging: whole-slice preprocessing', function () {
  let emidec: Case[];
  let sunnybrook: Case[];
  before(async () => {
    emidec = (await loadDataset(EMIDEC_PNG, { defaultSpacing: [1.5, 1.5, 10] })).cases.slice(0, 4);
    sunnybrook = (await loadDataset(SUNNYBROOK)).cases;
  });

  it('keeps every slice whole at its own spacing, normalised to [0, 1], and restores labels exactly', () => {
    for (const c of [...emidec, ...sunnybrook]) {
      const { slices, transform, spacing } = preprocessWholeSlices(c, { minSize: 128 });
      assert.equal(slices.length, c.image.dims[2]);
      assert.deepEqual([transform.width, transform.height], [c.image.dims[0], c.image.dims[1]], c.id);
      assert.deepEqual(spacing, [c.image.spacing[0], c.image.spacing[1]]);
      for (const s of slices) assert.ok(s.image.every((v) => v >= 0 && v <= 1), `${c.id}: intensities outside [0, 1]`);
      assert.deepEqual(restoreWholeSlices(slices.map((s) => oneHot(s.label)), transform).data, c.label!.data, c.id);
    }
  });

  it('pads slices smaller than the window around the centre, and the restore undoes the padding', () => {
    const c = emidec[1]!;
    const [w, h, d] = c.image.dims;
    // A 70x50 field of view cut from the middle of the case.
    const [cw, ch] = [70, 50];
    const cut = <T extends Float32Array | Uint8Array>(src: T, out: T): T => {
      for (let z = 0; z < d; z++) for (let y = 0; y < ch; y++) out.set(src.subarray(z * w * h + (y + 100) * w + 90, z * w * h + (y + 100) * w + 90 + cw), z * cw * ch + y * cw);
      return out;
    };
    const small: Case = {
      id: 'small',
      source: 'test',
      image: { data: cut(c.image.data, new Float32Array(cw * ch * d)), dims: [cw, ch, d], spacing: c.image.spacing },
      label: { data: cut(c.label!.data, new Uint8Array(cw * ch * d)), dims: [cw, ch, d], spacing: c.image.spacing },
    };
    const { slices, transform } = preprocessWholeSlices(small, { minSize: 64 });
    assert.deepEqual([transform.width, transform.height, transform.padX, transform.padY], [70, 64, 0, 7]);
    assert.ok(slices.every((s) => s.image.length === 70 * 64 && s.image.subarray(0, 70 * 7).every((v) => v === 0)));
    assert.deepEqual(restoreWholeSlices(slices.map((s) => oneHot(s.label)), transform).data, small.label!.data);
  });

  it('resamples to the working spacing and back onto the original grid (Dice > 0.9)', () => {
    const c = sunnybrook[0]!;
    for (const target of [[1.5, 1.5], [1.0, 1.0], [2.2, 1.8]] as [number, number][]) {
      const { slices, transform, spacing } = preprocessWholeSlices(c, { minSize: 128, targetSpacing: target });
      assert.equal(transform.resampledWidth, Math.round((c.image.dims[0] * c.image.spacing[0]) / target[0]));
      assert.ok(Math.abs(spacing[0] - target[0]) < 0.02 && Math.abs(spacing[1] - target[1]) < 0.02, `spacing ${spacing}`);
      const restored = restoreWholeSlices(slices.map((s) => oneHot(s.label)), transform);
      assert.ok(dice(foreground(restored.data), foreground(c.label!.data)) > 0.9, `target ${target}`);
    }
  });

  it('puts boundaries between working-grid pixels: a ring predicted at 1.5 mm lands closer on a 0.5 mm grid than nearest labels do', () => {
    // A myocardium-like ring (radii 9 and 14 mm) on a 45 mm field of view, acquired at 0.5 mm.
    const [fine, coarse, size] = [0.5, 1.5, 45];
    const centre = [22.3, 21.7];
    const radius = (x: number, y: number) => Math.hypot(x - centre[0]!, y - centre[1]!);
    const n = size / fine;
    const truth = Uint8Array.from({ length: n * n }, (_, i) => {
      const r = radius(((i % n) + 0.5) * fine, (Math.floor(i / n) + 0.5) * fine);
      return r < 9 ? 1 : r < 14 ? 2 : 0;
    });
    const c: Case = { id: 'ring', source: 'test', image: { data: new Float32Array(n * n), dims: [n, n, 1], spacing: [fine, fine, 10] } };
    const { transform } = preprocessWholeSlices(c, { minSize: 8, targetSpacing: [coarse, coarse] });
    const m = transform.resampledWidth;
    assert.deepEqual([m, transform.width, transform.padX], [size / coarse, size / coarse, 0]);
    // What a network would hand over at 1.5 mm: soft class probabilities from the distance to each edge.
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v / 0.5));
    const probabilities = new Float32Array(m * m * CLASSES);
    const labels = new Uint8Array(m * m);
    for (let i = 0; i < m * m; i++) {
      const r = radius(((i % m) + 0.5) * coarse, (Math.floor(i / m) + 0.5) * coarse);
      const [inside, insideOuter] = [sigmoid(9 - r), sigmoid(14 - r)];
      const p = [1 - insideOuter, inside, insideOuter - inside];
      p.forEach((v, k) => (probabilities[i * CLASSES + k] = v));
      labels[i] = p.indexOf(Math.max(...p));
    }
    const myocardium = (v: Uint8Array) => v.map((x) => (x === 2 ? 1 : 0));
    const byProbabilities = dice(myocardium(restoreWholeSlices([probabilities], transform).data), myocardium(truth));
    const byNearest = dice(myocardium(resampleNearest(labels, m, m, n, n)), myocardium(truth));
    assert.ok(byProbabilities > byNearest + 0.01, `myocardium Dice ${byProbabilities} by probabilities, ${byNearest} by nearest labels`);
  });

  it('normalises any intensity range alike: an int16 cine, its 8-bit rescale and a float map give the same slice', () => {
    const c = sunnybrook[1]!;
    const plane = c.image.dims[0] * c.image.dims[1];
    const raw = c.image.data.slice(3 * plane, 4 * plane);
    const reference = normaliseIntensity(raw.slice());
    let max = 0;
    for (const v of raw) max = Math.max(max, v);
    const eightBit = normaliseIntensity(raw.map((v) => Math.round((v / max) * 255)));
    const float = normaliseIntensity(raw.map((v) => v * 1e-3 - 7.5));
    let worstFloat = 0;
    let meanEightBit = 0;
    for (let i = 0; i < plane; i++) {
      worstFloat = Math.max(worstFloat, Math.abs(float[i]! - reference[i]!));
      meanEightBit += Math.abs(eightBit[i]! - reference[i]!) / plane;
    }
    assert.ok(worstFloat < 1e-4, `float map differs by ${worstFloat}`);
    assert.ok(meanEightBit < 0.01, `8-bit rescale differs by ${meanEightBit} on average`);
    // Clipping at the 99.5 % quantile: one hot pixel does not compress the rest.
    const hot = raw.slice();
    hot[0] = max * 50;
    const withHotPixel = normaliseIntensity(hot);
    assert.ok(Math.abs(withHotPixel[plane / 2]! - reference[plane / 2]!) < 1e-3);
    assert.deepEqual(normaliseIntensity(new Float32Array(16).fill(3)), new Float32Array(16));
  });

  it('rejects a window below 8 pixels and a non-positive spacing with typed errors', () => {
    assert.throws(() => preprocessWholeSlices(emidec[0]!, { minSize: 4 }), /window size/);
    assert.throws(() => preprocessWholeSlices(emidec[0]!, { minSize: 64, targetSpacing: [0, 1] }), /target spacing/);
  });
});
