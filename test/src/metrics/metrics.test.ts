import assert from 'node:assert/strict';
import type { Dims, LabelVolume, Spacing } from '@lgefed/shared';
import {
  dice,
  evaluateCase,
  hausdorff95,
  labelComponents,
  largestComponent,
  MetricsInputError,
  percentile,
  squaredDistanceToSeeds,
  surfaceOf,
  volumeMl,
} from '@lgefed/shared/metrics/index';

function mask(dims: Dims, voxels: [number, number, number][]): Uint8Array {
  const m = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const [x, y, z] of voxels) m[x + dims[0] * (y + dims[1] * z)] = 1;
  return m;
}

/** Deterministic pseudo-random masks for comparisons with brute force. */
function randomMask(length: number, density: number, seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31 < density ? 1 : 0;
  });
}

describe('metrics: Dice, HD95, volumes', () => {
  it('computes 3D Dice as 2TP/(2TP+FP+FN), 1 when both are empty', () => {
    const p = Uint8Array.from([1, 1, 1, 1, 0, 0, 0, 0]);
    const t = Uint8Array.from([0, 1, 1, 1, 1, 1, 1, 0]);
    assert.equal(dice(p, t), 0.6); // TP 3, FP 1, FN 3
    assert.equal(dice(new Uint8Array(8), new Uint8Array(8)), 1);
    assert.equal(dice(p, new Uint8Array(8)), 0);
  });

  it('measures surface distances in mm with anisotropic spacing', () => {
    assert.equal(hausdorff95(mask([10, 1, 1], [[1, 0, 0]]), mask([10, 1, 1], [[4, 0, 0]]), [10, 1, 1], [2, 1, 1]), 6);
    assert.equal(hausdorff95(mask([1, 1, 5], [[0, 0, 0]]), mask([1, 1, 5], [[0, 0, 3]]), [1, 1, 5], [1, 1, 10]), 30);
    // Diagonal: 3 voxels in x at 1.5 mm and 1 slice at 10 mm.
    const d = hausdorff95(mask([4, 1, 2], [[0, 0, 0]]), mask([4, 1, 2], [[3, 0, 1]]), [4, 1, 2], [1.5, 1, 10]);
    assert.ok(Math.abs(d - Math.hypot(4.5, 10)) < 1e-9);
  });

  it('takes the larger of the two directed 95th percentiles (MedPy hd95)', () => {
    // Pred x=0..2, truth x=0..3: pred→truth 0,0,0 (p95 0); truth→pred 0,0,0,1: rank 0.95*3 = 2.85 → 0.85.
    const dims: Dims = [5, 1, 1];
    const p = mask(dims, [[0, 0, 0], [1, 0, 0], [2, 0, 0]]);
    const t = mask(dims, [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]]);
    assert.ok(Math.abs(hausdorff95(p, t, dims, [1, 1, 1]) - 0.85) < 1e-12);
    assert.equal(percentile(Float64Array.from([3, 1, 2]), 50), 2);
  });

  it('gives the same HD95 on a small structure in a large grid as brute force over every surface pair', () => {
    // Structures away from the grid border, as the heart is in a scan: the union bounding box is
    // what the distance transform runs on, so this checks that cutting it out changes nothing.
    const dims: Dims = [40, 30, 6];
    const spacing: Spacing = [1.4, 1.4, 9];
    const place = (seed: number, x0: number, y0: number) => {
      const local = randomMask(9 * 8 * 3, 0.5, seed);
      const m = new Uint8Array(dims[0] * dims[1] * dims[2]);
      for (let i = 0; i < local.length; i++) if (local[i]) m[x0 + (i % 9) + dims[0] * (y0 + (Math.floor(i / 9) % 8) + dims[1] * (1 + Math.floor(i / 72)))] = 1;
      return m;
    };
    const p = place(5, 12, 9);
    const t = place(6, 15, 11);
    const coords = (m: Uint8Array) => [...surfaceOf(m, dims).entries()].filter(([, v]) => v).map(([i]) => [(i % 40) * spacing[0], (Math.floor(i / 40) % 30) * spacing[1], Math.floor(i / 1200) * spacing[2]]);
    const directed = (from: number[][], to: number[][]) =>
      percentile(Float64Array.from(from.map((a) => Math.min(...to.map((b) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!))))), 95);
    const expected = Math.max(directed(coords(p), coords(t)), directed(coords(t), coords(p)));
    assert.ok(expected > 0);
    assert.ok(Math.abs(hausdorff95(p, t, dims, spacing) - expected) < 1e-9, `${hausdorff95(p, t, dims, spacing)} vs ${expected}`);
  });

  it('uses only surface voxels: the interior of a solid block is not surface', () => {
    const dims: Dims = [5, 5, 5];
    const cube: [number, number, number][] = [];
    for (let z = 1; z < 4; z++) for (let y = 1; y < 4; y++) for (let x = 1; x < 4; x++) cube.push([x, y, z]);
    const surface = surfaceOf(mask(dims, cube), dims);
    assert.equal(surface.reduce((n, v) => n + v, 0), 26);
    assert.equal(surface[2 + 5 * (2 + 5 * 2)], 0);
  });

  it('has an exact distance transform (matches brute force on random anisotropic grids)', () => {
    const dims: Dims = [7, 5, 4];
    const spacing: Spacing = [1.3, 0.7, 8];
    const seeds = randomMask(140, 0.08, 11);
    const field = squaredDistanceToSeeds(seeds, dims, spacing);
    for (let i = 0; i < seeds.length; i++) {
      let best = Infinity;
      for (let j = 0; j < seeds.length; j++) {
        if (!seeds[j]) continue;
        const dx = ((i % 7) - (j % 7)) * spacing[0];
        const dy = ((Math.floor(i / 7) % 5) - (Math.floor(j / 7) % 5)) * spacing[1];
        const dz = (Math.floor(i / 35) - Math.floor(j / 35)) * spacing[2];
        best = Math.min(best, dx * dx + dy * dy + dz * dz);
      }
      assert.ok(Math.abs(field[i]! - best) < 1e-9, `voxel ${i}: ${field[i]} vs ${best}`);
    }
    assert.ok(squaredDistanceToSeeds(new Uint8Array(140), dims, spacing).every((v) => v === Infinity));
  });

  it('defines empty cases: both empty → Dice 1 and HD95 0; one empty → Dice 0 and HD95 null', () => {
    const dims: Dims = [4, 4, 2];
    const spacing: Spacing = [1.5, 1.5, 10];
    const empty: LabelVolume = { data: new Uint8Array(32), dims, spacing };
    const withPool: LabelVolume = { data: new Uint8Array(32).fill(1, 0, 6), dims, spacing };
    const both = evaluateCase(empty, empty);
    assert.deepEqual(both.bloodpool, { dice: 1, hd95Mm: 0, predictedMl: 0, trueMl: 0 });
    const missed = evaluateCase(empty, withPool);
    assert.equal(missed.bloodpool.dice, 0);
    assert.equal(missed.bloodpool.hd95Mm, null);
    assert.ok(Math.abs(missed.bloodpool.trueMl - 0.135) < 1e-12); // 6 voxels * 22.5 mm³
    assert.deepEqual(missed.myocardium, { dice: 1, hd95Mm: 0, predictedMl: 0, trueMl: 0 });
  });

  it('rejects volumes on different grids', () => {
    const a: LabelVolume = { data: new Uint8Array(8), dims: [2, 2, 2], spacing: [1, 1, 1] };
    assert.throws(() => evaluateCase(a, { ...a, spacing: [1, 1, 2] }), MetricsInputError);
    assert.throws(() => evaluateCase(a, { data: new Uint8Array(8), dims: [4, 2, 1], spacing: [1, 1, 1] }), MetricsInputError);
    assert.throws(() => evaluateCase({ ...a, data: new Uint8Array(7) }, a), MetricsInputError);
  });

  it('converts voxel counts to millilitres', () => {
    assert.equal(volumeMl(Uint8Array.from([1, 1, 0, 1]), [2, 2.5, 10]), 0.15);
  });
});

describe('metrics: largest connected component', () => {
  const dims: Dims = [6, 4, 3];

  it('keeps the largest 3D component and removes the others', () => {
    const big: [number, number, number][] = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 1, 2]]; // spans slices
    const small: [number, number, number][] = [[4, 2, 0], [5, 2, 0], [5, 3, 0]];
    const kept = largestComponent(mask(dims, [...big, ...small]), dims);
    assert.deepEqual(kept, mask(dims, big));
    assert.equal(largestComponent(new Uint8Array(72), dims).some((v) => v), false);
  });

  it('respects the connectivity: diagonal neighbours join only with 26-connectivity', () => {
    const diagonal = mask(dims, [[0, 0, 0], [1, 1, 1], [2, 2, 2]]);
    assert.deepEqual(labelComponents(diagonal, dims, 6).sizes, [0, 1, 1, 1]);
    assert.deepEqual(labelComponents(diagonal, dims, 26).sizes, [0, 3]);
  });
});
