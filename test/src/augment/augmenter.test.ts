import assert from 'node:assert/strict';
import {
  applyOperators,
  AugmentationError,
  Augmenter,
  galleryOperators,
  PRESETS,
  Prng,
  type OperatorSpec,
  type SpacedSlice,
} from '@lgefed/shared/augment/index';
import { loadEmidecSlice } from './emidec-fixture.js';

/** A bright disc (label 1) inside a ring (label 2) off-centre, image exactly 1 on the labels. */
function syntheticSlice(width = 64, height = 48, spacing: [number, number] = [1.5, 1.5]): SpacedSlice {
  const image = new Float32Array(width * height);
  const label = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = Math.hypot(x - 20, y - 18);
      const value = r < 7 ? 1 : r < 11 ? 2 : 0;
      label[y * width + x] = value;
      image[y * width + x] = value ? 1 : 0;
    }
  }
  return { image, label, width, height, spacing };
}

function fixed(op: OperatorSpec, values: Record<string, number>): OperatorSpec {
  const copy: Record<string, unknown> = { ...op, p: 1 };
  for (const [key, value] of Object.entries(values)) copy[key] = [value, value];
  return copy as OperatorSpec;
}

const spatialOps = PRESETS.paper.operators.filter((op) => ['flip', 'rotate', 'rescale'].includes(op.kind));
const intensityOps = galleryOperators().filter((op) => !['flip', 'rotate', 'rescale', 'zoom'].includes(op.kind));
const count = (label: Uint8Array, value: number): number => label.reduce((n, v) => n + (v === value ? 1 : 0), 0);

describe('augmentation: spatial operators keep image and label aligned', () => {
  const sample = syntheticSlice();
  const size = { outputWidth: 40, outputHeight: 40 };

  for (const op of [...spatialOps, PRESETS.nnunet.operators.find((o) => o.kind === 'zoom')!]) {
    it(`${op.kind}${op.kind === 'flip' ? ` ${op.axis}` : ''}: labelled pixels stay bright, background stays dark`, () => {
      const prng = new Prng(7);
      for (let trial = 0; trial < 5; trial++) {
        const out = applyOperators(sample, [{ ...op, p: 1 }], 'random', size, prng);
        assert.equal(out.image.length, 40 * 40);
        const foreground = out.label.reduce((n, v) => n + (v ? 1 : 0), 0);
        assert.ok(foreground > 100, `shape left the crop (${foreground} labelled pixels)`);
        let disagreements = 0;
        for (let i = 0; i < out.label.length; i++) if ((out.label[i]! > 0) !== (out.image[i]! > 0.5)) disagreements++;
        // Only pixels on the shape's border may disagree, where nearest and bilinear round differently.
        assert.ok(disagreements / foreground < 0.06, `${disagreements} of ${foreground} pixels misaligned`);
      }
    });
  }

  it('horizontal flip mirrors image and label exactly', () => {
    const out = applyOperators(sample, [fixed(spatialOps[0]!, {})], 'centre', { outputWidth: 64, outputHeight: 48 }, new Prng(1));
    for (let y = 0; y < 48; y++) {
      for (let x = 0; x < 64; x++) {
        assert.equal(out.label[y * 64 + x], sample.label[y * 64 + 63 - x]);
        assert.equal(out.image[y * 64 + x], sample.image[y * 64 + 63 - x]);
      }
    }
  });

  it('four quarter turns give back the original label', () => {
    const square = syntheticSlice(48, 48);
    const quarter = fixed(spatialOps.find((o) => o.kind === 'rotate')!, { degrees: 90 });
    let current: SpacedSlice = square;
    const size48 = { outputWidth: 48, outputHeight: 48 };
    for (let turn = 0; turn < 4; turn++) {
      current = applyOperators(current, [quarter], 'centre', size48, new Prng(1));
      if (turn === 0) assert.notDeepEqual(current.label, square.label);
    }
    assert.deepEqual(current.label, square.label);
  });

  it('rescaling to a coarser spacing shrinks the labelled area by the squared spacing ratio', () => {
    const rescale = fixed(spatialOps.find((o) => o.kind === 'rescale')!, { spacingMm: 1.8 });
    const out = applyOperators(sample, [rescale], 'centre', { outputWidth: 64, outputHeight: 48 }, new Prng(1));
    assert.deepEqual(out.spacing, [1.8, 1.8]);
    const before = count(sample.label, 1) + count(sample.label, 2);
    const after = count(out.label, 1) + count(out.label, 2);
    const expected = before * (1.5 / 1.8) ** 2;
    assert.ok(Math.abs(after - expected) / expected < 0.08, `area ${after}, expected about ${expected.toFixed(0)}`);
  });

  it('a random crop alone copies an exact window of the input, at varying places', () => {
    const real = loadEmidecSlice();
    const augmenter = new Augmenter({ name: 'crop only', operators: [] }, { seed: 3, outputWidth: 160, outputHeight: 160 });
    const offsets = new Set<string>();
    for (let trial = 0; trial < 6; trial++) {
      const out = augmenter.augment(real);
      const offset = findWindow(real, out);
      assert.ok(offset, 'crop is not a window of the input');
      offsets.add(offset);
    }
    assert.ok(offsets.size > 1, 'every crop at the same place');
  });

  it('keeps the labelled heart of a real EMIDEC slice under the full paper preset with foreground-forced windows', () => {
    const real = loadEmidecSlice();
    const augmenter = new Augmenter('paper', { seed: 11, outputWidth: 192, outputHeight: 192, foregroundFraction: 1 });
    for (let trial = 0; trial < 10; trial++) {
      const out = augmenter.augment(real);
      assert.ok(count(out.label, 1) > 150 && count(out.label, 2) > 150, `labels lost after ${out.applied.join(', ')}`);
      assert.deepEqual([...new Set(out.label)].every((v) => v <= 2), true);
    }
  });
});

describe('augment: window sampling over whole slices', () => {
  // A 256x256 slice at 1.5 mm with a small "heart" in one corner: a random 64x64 window rarely sees it.
  const width = 256;
  const corner: SpacedSlice = (() => {
    const image = new Float32Array(width * width).fill(0.2);
    const label = new Uint8Array(width * width);
    for (let y = 20; y < 30; y++) for (let x = 210; x < 222; x++) label[y * width + x] = x < 214 ? 2 : 1;
    label.forEach((v, i) => v && (image[i] = 0.8));
    return { image, label, width, height: width, spacing: [1.5, 1.5] };
  })();
  const hasForeground = (out: SpacedSlice): boolean => out.label.some((v) => v > 0);

  it('with foregroundFraction 1 every window contains foreground, under rotation and rescaling too', () => {
    for (const preset of ['none', 'spatial'] as const) {
      const augmenter = new Augmenter(preset, { seed: 5, outputWidth: 64, outputHeight: 64, foregroundFraction: 1 });
      for (let i = 0; i < 40; i++) assert.ok(hasForeground(augmenter.augment(corner)), `${preset} window ${i} missed the foreground`);
    }
  });

  it('by default about a third of the windows are forced onto the foreground, the rest lie anywhere', () => {
    const augmenter = new Augmenter('none', { seed: 9, outputWidth: 64, outputHeight: 64 });
    let withForeground = 0;
    const trials = 300;
    for (let i = 0; i < trials; i++) if (hasForeground(augmenter.augment(corner))) withForeground++;
    // A random window (start 0..192 on each axis) covers part of the corner patch with probability
    // 46/193 · 30/193 ≈ 0.04, so the expected share is 1/3 + 2/3 · 0.04 ≈ 0.36.
    const share = withForeground / trials;
    assert.ok(share > 0.25 && share < 0.5, `share with foreground ${share}`);
    const never = new Augmenter('none', { seed: 9, outputWidth: 64, outputHeight: 64, foregroundFraction: 0 });
    let hits = 0;
    for (let i = 0; i < trials; i++) if (hasForeground(never.augment(corner))) hits++;
    assert.ok(hits / trials < 0.1, `without forcing ${hits}/${trials} windows still hit the corner`);
  });

  it('rejects a foreground fraction outside [0, 1]', () => {
    assert.throws(() => new Augmenter('none', { seed: 1, outputWidth: 8, outputHeight: 8, foregroundFraction: 1.5 }), AugmentationError);
  });
});

function findWindow(input: SpacedSlice, crop: SpacedSlice): string | undefined {
  for (let top = 0; top + crop.height <= input.height; top++) {
    for (let left = 0; left + crop.width <= input.width; left++) {
      let same = true;
      for (let y = 0; y < crop.height && same; y += 7) {
        for (let x = 0; x < crop.width; x += 3) {
          if (crop.image[y * crop.width + x] !== input.image[(top + y) * input.width + left + x]) {
            same = false;
            break;
          }
        }
      }
      if (!same) continue;
      for (let y = 0; y < crop.height; y++) {
        for (let x = 0; x < crop.width; x++) {
          const i = (top + y) * input.width + left + x;
          if (crop.image[y * crop.width + x] !== input.image[i] || crop.label[y * crop.width + x] !== input.label[i]) return undefined;
        }
      }
      return `${left},${top}`;
    }
  }
  return undefined;
}

describe('augmentation: intensity operators', () => {
  const real = loadEmidecSlice();
  const size = { outputWidth: real.width, outputHeight: real.height };

  for (const op of intensityOps) {
    const name = op.kind === 'gamma' && op.inverted ? 'inverse gamma' : op.kind;
    it(`${name} changes the image, stays in [0, 1] and leaves the label alone`, () => {
      const prng = new Prng(5);
      for (let trial = 0; trial < 3; trial++) {
        const out = applyOperators(real, [{ ...op, p: 1 }], 'centre', size, prng);
        let min = Infinity;
        let max = -Infinity;
        let changed = 0;
        for (let i = 0; i < out.image.length; i++) {
          min = Math.min(min, out.image[i]!);
          max = Math.max(max, out.image[i]!);
          if (Math.abs(out.image[i]! - real.image[i]!) > 1e-4) changed++;
        }
        assert.ok(min >= 0 && max <= 1, `range [${min}, ${max}]`);
        assert.ok(changed > 0, 'image unchanged');
        assert.deepEqual(out.label, real.label);
      }
    });
  }

  it('bilateral filtering smooths flat regions more than edges', () => {
    const bilateral = fixed(intensityOps.find((o) => o.kind === 'bilateral')!, { sigmaSpatialPx: 1.5, sigmaIntensity: 0.1 });
    const noisy = syntheticSlice(64, 64);
    const noise = new Prng(2);
    const image = noisy.image.map((v) => Math.min(1, Math.max(0, v * 0.8 + 0.1 + 0.03 * noise.gaussian())));
    const out = applyOperators({ ...noisy, image }, [bilateral], 'centre', { outputWidth: 64, outputHeight: 64 }, new Prng(1));
    const roughness = (img: Float32Array): number => {
      let sum = 0;
      for (let y = 40; y < 60; y++) for (let x = 40; x < 60; x++) sum += Math.abs(img[y * 64 + x]! - img[y * 64 + x + 1]!);
      return sum;
    };
    assert.ok(roughness(out.image) < 0.5 * roughness(image), 'noise in a flat region not reduced');
    // The disc edge (x = 13 to x = 12 on row 18, from 0.9 to 0.1) keeps most of its step.
    const step = out.image[18 * 64 + 14]! - out.image[18 * 64 + 8]!;
    assert.ok(step > 0.6, `edge step ${step} blurred away`);
  });
});

describe('augmentation: presets, seeding and errors', () => {
  const real = loadEmidecSlice();

  it('is reproducible from its seed and varies with it', () => {
    const run = (seed: number) => {
      const augmenter = new Augmenter('paper', { seed, outputWidth: 128, outputHeight: 128 });
      return Array.from({ length: 4 }, () => augmenter.augment(real));
    };
    const a = run(42);
    const b = run(42);
    const c = run(43);
    a.forEach((sample, i) => {
      assert.deepEqual(sample.image, b[i]!.image);
      assert.deepEqual(sample.label, b[i]!.label);
    });
    assert.ok(a.some((sample, i) => !sample.image.every((v, j) => v === c[i]!.image[j])));
  });

  it('fires each paper operator with probability 0.2', () => {
    const tiny: SpacedSlice = { image: new Float32Array(64).fill(0.5), label: new Uint8Array(64), width: 8, height: 8, spacing: [1.5, 1.5] };
    const augmenter = new Augmenter('paper', { seed: 9, outputWidth: 8, outputHeight: 8 });
    const trials = 3000;
    const fired = new Map<string, number>();
    for (let t = 0; t < trials; t++) for (const kind of augmenter.augment(tiny).applied) fired.set(kind, (fired.get(kind) ?? 0) + 1);
    // Two flips and two gammas share a kind: 2 x 0.2 each.
    const expected: Record<string, number> = { flip: 0.4, rotate: 0.2, rescale: 0.2, bilateral: 0.2, gaussianNoise: 0.2, gamma: 0.4, brightness: 0.2, contrast: 0.2 };
    for (const [kind, rate] of Object.entries(expected)) {
      const observed = (fired.get(kind) ?? 0) / trials;
      assert.ok(Math.abs(observed - rate) < 0.035, `${kind} fired at ${observed}, expected ${rate}`);
    }
  });

  it('preset none applies no operator: every sample is an exact window of the slice', () => {
    const augmenter = new Augmenter('none', { seed: 1, outputWidth: 128, outputHeight: 128 });
    for (let i = 0; i < 4; i++) {
      const out = augmenter.augment(real);
      assert.deepEqual(out.applied, []);
      assert.ok(findWindow(real, out), `sample ${i} is not a window of the input`);
    }
  });

  it('rejects unknown presets, bad operators and bad slices with AugmentationError', () => {
    const size = { seed: 1, outputWidth: 8, outputHeight: 8 };
    assert.throws(() => new Augmenter('strong', size), /unknown augmentation preset 'strong'/);
    assert.throws(
      () => new Augmenter({ name: 'x', operators: [{ kind: 'rotate', p: 1.5, degrees: [0, 1] }] }, size),
      AugmentationError,
    );
    assert.throws(
      () => new Augmenter({ name: 'x', operators: [{ kind: 'gaussianNoise', p: 0.2, sigma: [0.1, 0] }] }, size),
      /low 0.1 exceeds high 0/,
    );
    assert.throws(() => new Augmenter('paper', { ...size, outputWidth: 0 }), AugmentationError);
    const augmenter = new Augmenter('paper', size);
    assert.throws(() => augmenter.augment({ ...real, image: real.image.map((v) => v * 255) }), /outside \[0, 1\]; normalise images first/);
    assert.throws(() => augmenter.augment({ ...real, label: new Uint8Array(3) }), /label has 3 pixels/);
    assert.throws(() => augmenter.augment({ ...real, spacing: [0, 1] }), /spacing must be two positive/);
  });
});
