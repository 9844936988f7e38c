import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Label } from '@lgefed/shared';
import { DataError, detectLayout, loadDataset, parseLabelMap, writeNifti } from '@lgefed/shared/imaging/index';

const EMIDEC_PNG = '/work/shared/data/emidec-lge-slices';
const SUNNYBROOK = '/work/shared/data/sunnybrook-cine-nifti';
const dims = [6, 5, 2] as const;

/** A label volume whose voxels cycle through `values`, so every value is present. */
const cycling = (values: number[]) => new Float32Array(60).map((_, i) => values[i % values.length]!);
const image = () => new Float32Array(60).map((_, i) => i);

describe('imaging: dataset layouts and label mapping', function () {
  let root: string;
  before(async () => (root = await mkdtemp(join(tmpdir(), 'lgefed-layouts-'))));
  after(() => rm(root, { recursive: true, force: true }));

  it('emidec: maps 0-4 to {0,1,2} and loads the good cases when one is corrupt and one is 4D', async () => {
    const dir = join(root, 'emidec');
    for (const id of ['Case_N001', 'Case_P002', 'Case_P003']) {
      await mkdir(join(dir, id, 'Images'), { recursive: true });
      await mkdir(join(dir, id, 'Contours'), { recursive: true });
    }
    await writeNifti(join(dir, 'Case_N001/Images/Case_N001.nii.gz'), { data: image(), dims, spacing: [1.5, 1.5, 10] });
    await writeNifti(join(dir, 'Case_N001/Contours/Case_N001.nii.gz'), { data: new Uint8Array(cycling([0, 1, 2, 3, 4])), dims, spacing: [1.5, 1.5, 10] });
    await writeFile(join(dir, 'Case_P002/Images/Case_P002.nii.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5]));
    await copyFile('/usr/lib/python3/dist-packages/nibabel/tests/data/example4d.nii.gz', join(dir, 'Case_P003/Images/Case_P003.nii.gz'));
    assert.equal(await detectLayout(dir), 'emidec');
    // Stored order, so voxel i of the file is voxel i here (the default reorients in-plane).
    const ds = await loadDataset(dir, { orientation: 'stored' });
    assert.deepEqual(ds.cases.map((c) => c.id), ['Case_N001']);
    const labels = ds.cases[0]!.label!.data;
    assert.deepEqual([...labels.slice(0, 5)], [0, 1, 2, 2, 2]);
    assert.deepEqual(ds.problems.map((p) => [p.caseId, p.code]).sort(), [['Case_P002', 'corrupt-gzip'], ['Case_P003', 'not-3d']]);
    assert.ok(ds.problems.every((p) => p.message.includes(p.file)));
  });

  it('mscmr: 500 → blood pool, 200 → myocardium, RV 600 → background; unknown values are reported; a site override wins', async () => {
    const dir = join(root, 'mscmr');
    await mkdir(dir);
    await writeNifti(join(dir, 'subject1_DE.nii.gz'), { data: image(), dims, spacing: [0.75, 0.75, 5] });
    await writeNifti(join(dir, 'subject1_DE_manual.nii.gz'), { data: cycling([0, 200, 500, 600, 700]), dims, spacing: [0.75, 0.75, 5] });
    await writeNifti(join(dir, 'subject2_DE_manual.nii.gz'), { data: cycling([0]), dims });
    assert.equal(await detectLayout(dir), 'mscmr');
    const ds = await loadDataset(dir, { orientation: 'stored' });
    const c = ds.cases[0]!;
    assert.equal(c.id, 'subject1');
    assert.deepEqual([...c.label!.data.slice(0, 5)], [Label.background, Label.myocardium, Label.bloodpool, Label.background, Label.background]);
    assert.deepEqual(c.unknownLabelValues, [700]);
    assert.deepEqual(c.labelValues, [0, 200, 500, 600, 700]);
    assert.deepEqual(ds.problems.map((p) => p.code), ['orphan-file']);
    const overridden = await loadDataset(dir, { orientation: 'stored', labelMap: parseLabelMap('500=1, 200=2, 600=0, 700=2') });
    assert.deepEqual([...overridden.cases[0]!.label!.data.slice(0, 5)], [0, 2, 1, 0, 2]);
    assert.deepEqual(overridden.cases[0]!.unknownLabelValues, []);
  });

  it('rejects a malformed label override with a typed error', () => {
    assert.throws(() => parseLabelMap('500=7'), (e: unknown) => e instanceof DataError && e.code === 'bad-label-map');
    assert.throws(() => parseLabelMap('blood=1'), DataError);
  });

  it('png-slices: groups real EMIDEC slices into base→apex stacks, spacing from the sidecar, a bad PNG is reported', async () => {
    const dir = join(root, 'png');
    await mkdir(join(dir, 'images'), { recursive: true });
    await mkdir(join(dir, 'labels'), { recursive: true });
    const names = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => `Case_N006_slice${String(k).padStart(3, '0')}.png`);
    for (const n of names) {
      await copyFile(join(EMIDEC_PNG, 'images', n), join(dir, 'images', n));
      await copyFile(join(EMIDEC_PNG, 'labels', n), join(dir, 'labels', n));
    }
    await copyFile(join(EMIDEC_PNG, 'images/Case_P002_slice000.png'), join(dir, 'images/Case_P002_slice000.png'));
    await writeFile(join(dir, 'images/Case_P002_slice001.png'), 'broken');
    await writeFile(join(dir, 'spacing.json'), JSON.stringify({ default: [1.6, 1.6, 10], Case_N006: [1.4, 1.4, 10] }));
    assert.equal(await detectLayout(dir), 'png-slices');
    const ds = await loadDataset(dir);
    assert.deepEqual(ds.cases.map((c) => c.id), ['Case_N006']);
    const c = ds.cases[0]!;
    assert.deepEqual(c.image.dims, [256, 256, 9]);
    assert.deepEqual(c.image.spacing, [1.4, 1.4, 10]);
    assert.equal(c.spacingAssumed, false);
    assert.ok(c.label!.data.some((v) => v === Label.bloodpool) && c.label!.data.some((v) => v === Label.myocardium));
    assert.deepEqual(ds.problems.map((p) => [p.code, p.caseId]), [['bad-png', 'Case_P002']]);
  });

  it('nifti-pairs: reads the Sunnybrook folder (image + _gt) with labels already in our convention', async () => {
    assert.equal(await detectLayout(SUNNYBROOK), 'nifti-pairs');
    const ds = await loadDataset(SUNNYBROOK);
    assert.equal(ds.cases.length, 3);
    assert.deepEqual(ds.problems, []);
    for (const c of ds.cases) {
      assert.deepEqual(c.labelValues, [0, 1, 2]);
      assert.ok(Math.abs(c.image.spacing[0] - 1.3) < 0.1 && c.image.spacing[2] >= 8);
    }
  });

  it('manifest: CSV and JSON lists of image/label pairs, relative paths, and a missing file reported', async () => {
    const dir = join(root, 'manifest');
    await mkdir(join(dir, 'img'), { recursive: true });
    await writeNifti(join(dir, 'img/a.nii'), { data: image(), dims });
    await writeNifti(join(dir, 'img/a_seg.nii'), { data: new Uint8Array(cycling([0, 1, 2])), dims });
    await writeFile(join(dir, 'manifest.csv'), 'id,image,label\npatA,img/a.nii,img/a_seg.nii\npatB,img/missing.nii,\n');
    assert.equal(await detectLayout(dir), 'manifest');
    const ds = await loadDataset(dir);
    assert.deepEqual(ds.cases.map((c) => c.id), ['patA']);
    assert.deepEqual(ds.problems.map((p) => [p.caseId, p.code]), [['patB', 'not-found']]);
    await rm(join(dir, 'manifest.csv'));
    await writeFile(join(dir, 'manifest.json'), JSON.stringify([{ id: 'patA', image: 'img/a.nii', label: 'img/a_seg.nii' }]));
    assert.equal((await loadDataset(dir)).cases[0]!.label!.data[2], Label.myocardium);
    await writeFile(join(dir, 'manifest.json'), '{"cases": 3}');
    await assert.rejects(loadDataset(dir), (e: unknown) => e instanceof DataError && e.code === 'bad-manifest');
  });

  it('auto-detection refuses a folder with nothing it knows', async () => {
    const dir = join(root, 'empty');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'hello');
    await assert.rejects(loadDataset(dir), (e: unknown) => e instanceof DataError && e.code === 'unknown-layout');
  });
});
