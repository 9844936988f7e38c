import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Case } from '@lgefed/shared';
import { loadDataset, readNifti, writeNifti } from '@lgefed/shared/imaging/index';
import { evaluateCase } from '@lgefed/shared/metrics/index';
import { evaluateModel, loadModelDirectory, predictNiftiFile, PRETRAINED_MODEL_DIR, segmentCases, type LoadedModel } from '@lgefed/shared/workflows/index';

/** Real images from a centre the model never saw (GE cine, 350 mm field of view): development data only. */
const SUNNYBROOK = '/work/shared/data/sunnybrook-cine-nifti';

type Volume = { data: Float32Array | Uint8Array; dims: readonly [number, number, number] };

/** Maps every slice through (x, y) → source (x, y); outside the source reads `fill`. */
function remap<T extends Float32Array | Uint8Array>(v: { data: T; dims: readonly [number, number, number] }, dims: [number, number], source: (x: number, y: number) => [number, number], fill: number): T {
  const [w, h, d] = v.dims;
  const out = new (v.data.constructor as new (n: number) => T)(dims[0] * dims[1] * d).fill(fill) as T;
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < dims[1]; y++) {
      for (let x = 0; x < dims[0]; x++) {
        const [sx, sy] = source(x, y);
        if (sx >= 0 && sy >= 0 && sx < w && sy < h) out[z * dims[0] * dims[1] + y * dims[0] + x] = v.data[z * w * h + sy * w + sx]!;
      }
    }
  }
  return out;
}

interface Variant {
  readonly name: string;
  readonly dims: (w: number, h: number) => [number, number];
  readonly source: (w: number, h: number) => (x: number, y: number) => [number, number];
  readonly intensity?: (v: number, max: number) => number;
  readonly type?: 'uint8' | 'float32';
}

const variants: Variant[] = [
  // Twice the field of view, the original in the top-left corner: the heart far from the centre.
  { name: 'padded to 2x FOV, off-centre', dims: (w, h) => [w * 2, h * 2], source: () => (x, y) => [x - 20, y - 10] },
  { name: 'flipped left-right', dims: (w, h) => [w, h], source: (w) => (x, y) => [w - 1 - x, y] },
  { name: 'rotated 90°', dims: (w, h) => [h, w], source: (_w, h) => (x, y) => [y, h - 1 - x] },
  { name: 'rotated 180°, 8-bit', dims: (w, h) => [w, h], source: (w, h) => (x, y) => [w - 1 - x, h - 1 - y], intensity: (v, max) => Math.round((v / max) * 255), type: 'uint8' },
  { name: 'float intensities (x 1e-3 - 7.5)', dims: (w, h) => [w, h], source: () => (x, y) => [x, y], intensity: (v) => v * 1e-3 - 7.5, type: 'float32' },
];

const quiet = (): void => undefined;

/** Mean of the two structures' 3D Dice. */
const meanDice = (s: { bloodpool: { dice: number }; myocardium: { dice: number } }): number => (s.bloodpool.dice + s.myocardium.dice) / 2;

describe('workflows: whole-image inference on real images from an unseen centre, however they are stored', function () {
  // 19 volumes, some at twice the field of view: about a minute on onnxruntime, several on the tfjs fallback.
  this.timeout(900_000);
  let model: LoadedModel;
  let cases: Case[];
  let dir: string;
  before(async () => {
    model = await loadModelDirectory(PRETRAINED_MODEL_DIR);
    cases = (await loadDataset(SUNNYBROOK)).cases;
    dir = await mkdtemp(join(tmpdir(), 'lgefed-robust-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('finds the heart in padded, off-centre, flipped, rotated and re-scaled copies (Dice > 0.8 x the original case)', async () => {
    const original = await evaluateModel({ model, cases, onLog: quiet });
    for (const variant of variants) {
      const folder = join(dir, variant.name.replace(/[^a-z0-9]+/gi, '-'));
      await mkdir(folder);
      for (const c of cases) {
        const [w, h] = c.image.dims;
        const dims = variant.dims(w, h);
        const source = variant.source(w, h);
        let max = 0;
        for (const v of c.image.data) max = Math.max(max, v);
        const image = remap(c.image as Volume & { data: Float32Array }, dims, source, 0);
        const stored = variant.intensity ? image.map((v) => variant.intensity!(v, max)) : image;
        const data = variant.type === 'uint8' ? Uint8Array.from(stored) : variant.type === 'float32' ? stored : Int16Array.from(stored);
        // A 90° rotation swaps the in-plane axes, and with them the spacing.
        const [sx, sy, sz] = c.image.spacing;
        const grid: [number, number, number] = variant.name.startsWith('rotated 90') ? [sy, sx, sz] : [sx, sy, sz];
        await writeNifti(join(folder, `${c.id}.nii.gz`), { data, dims: [dims[0], dims[1], c.image.dims[2]], spacing: grid });
        await writeNifti(join(folder, `${c.id}_gt.nii.gz`), { data: remap(c.label! as Volume & { data: Uint8Array }, dims, source, 0), dims: [dims[0], dims[1], c.image.dims[2]], spacing: grid });
      }
      const copies = (await loadDataset(folder, { layout: 'nifti-pairs' })).cases;
      assert.equal(copies.length, cases.length, variant.name);
      const report = await evaluateModel({ model, cases: copies, onLog: quiet });
      for (const scored of report.cases) {
        const before = original.cases.find((o) => o.id === scored.id)!;
        const ratio = meanDice(scored.scores) / meanDice(before.scores);
        console.log(`      ${variant.name} ${scored.id}: Dice ${meanDice(scored.scores).toFixed(3)} vs ${meanDice(before.scores).toFixed(3)} (${ratio.toFixed(2)}x)`);
        assert.ok(ratio > 0.8, `${variant.name}, ${scored.id}: Dice ${meanDice(scored.scores).toFixed(3)} vs original ${meanDice(before.scores).toFixed(3)}`);
        assert.equal(scored.warning, undefined, `${variant.name}, ${scored.id}: ${scored.warning}`);
      }
    }
  });

  it('writes the label map on the input file\'s own voxel grid, so arrays compare voxel by voxel', async () => {
    // These files' in-plane axes are stored transposed relative to the orientation inference uses.
    const c = cases[0]!;
    const input = join(SUNNYBROOK, `${c.id}.nii.gz`);
    const output = join(dir, 'prediction.nii.gz');
    await predictNiftiFile(model, input, output, { onLog: quiet });
    const [image, truth, predicted] = await Promise.all([readNifti(input, { orientation: 'stored' }), readNifti(join(SUNNYBROOK, `${c.id}_gt.nii.gz`), { orientation: 'stored' }), readNifti(output, { orientation: 'stored' })]);
    assert.deepEqual(predicted.dims, image.dims);
    image.affine.forEach((row, r) => row.forEach((v, k) => assert.ok(Math.abs(v - predicted.affine[r]![k]!) < 1e-4, `affine[${r}][${k}]`)));
    const asLabels = (v: typeof truth) => ({ data: Uint8Array.from(v.data), dims: v.dims, spacing: v.spacing });
    const voxelwise = evaluateCase(asLabels(predicted), asLabels(truth));
    const [scored] = (await evaluateModel({ model, cases: [c], onLog: quiet })).cases;
    assert.ok(voxelwise.bloodpool.dice > 0.85, `voxel-by-voxel blood pool Dice ${voxelwise.bloodpool.dice}`);
    assert.ok(Math.abs(voxelwise.bloodpool.dice - scored!.scores.bloodpool.dice) < 1e-9);
    assert.ok(Math.abs(voxelwise.myocardium.dice - scored!.scores.myocardium.dice) < 1e-9);
  });

  it('warns when the predicted LV volume is implausible (nothing found in an image without a heart)', async () => {
    const c = cases[0]!;
    const blank: Case = { id: 'noise', source: 'test', image: { ...c.image, data: c.image.data.map((_, i) => (i * 2654435761) % 97) } };
    for await (const { warning } of segmentCases(model, [blank], { onLog: quiet })) assert.match(warning ?? '', /no LV blood pool|outside the plausible/);
    for await (const { warning } of segmentCases(model, [c], { onLog: quiet })) assert.equal(warning, undefined);
  });
});
