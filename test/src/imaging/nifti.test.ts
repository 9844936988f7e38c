import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { DataError, readNifti, writeNifti, type DataErrorCode } from '@lgefed/shared/imaging/index';
import { NIBABEL_DATA, nibabelReadAll, python, type NibabelView } from './nibabel.js';

const SUNNYBROOK = '/work/shared/data/sunnybrook-cine-nifti';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i]! - expected[i]!) > tol * Math.max(1, Math.abs(expected[i]!))) {
      assert.fail(`${what}[${i}]: ${actual[i]} != ${expected[i]}`);
    }
  }
}

async function expectDataError(file: string, code: DataErrorCode): Promise<void> {
  await assert.rejects(readNifti(file), (err: unknown) => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.file, file);
    assert.ok(err.message.includes(file), 'message names the file');
    return true;
  });
}

describe('imaging: NIfTI reader against nibabel', function () {
  let dir: string;
  const theirs = new Map<string, NibabelView>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lgefed-nifti-'));
    // Files nibabel writes with what our real sites use: big-endian, scaled int16, NIfTI-2, float64, uint16, int8.
    await python(
      `out = sys.argv[1]
rng = np.random.default_rng(3)
aff = np.array([[0.0, 1.3, 0.2, -40.0], [-1.4, 0.0, 0.1, 12.0], [0.0, -0.1, 8.0, 30.0], [0, 0, 0, 1]])
raw = rng.integers(-500, 3000, size=(12, 10, 5)).astype(np.int16)
im = nib.Nifti1Image(raw.astype(np.float64) * 0.5 + 7.0, aff)
im.set_data_dtype(np.int16)
im.to_filename(out + "/scaled_int16.nii.gz")
big = nib.Nifti1Image(raw, aff)
big.header.set_data_dtype(">i2")
nib.Nifti1Image(raw.astype(">i2"), aff, big.header.as_byteswapped(">")).to_filename(out + "/big_endian.nii")
nib.Nifti2Image(rng.random((9, 7, 4)), aff).to_filename(out + "/nifti2_f64.nii.gz")
nib.Nifti1Image(rng.integers(0, 60000, size=(6, 5, 3)).astype(np.uint16), np.diag([0.75, 0.75, 5, 1])).to_filename(out + "/uint16.nii")
nib.Nifti1Image(rng.integers(-100, 100, size=(6, 5, 3)).astype(np.int8), np.diag([1.5, 1.5, 10, 1])).to_filename(out + "/int8.nii.gz")
print("null")`,
      [dir],
    );
    const paths = files.map(([, file]) => file());
    (await nibabelReadAll(paths)).forEach((view, i) => theirs.set(paths[i]!, view));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const files: [string, () => string][] = [
    ['nibabel anatomical.nii (big-endian int16)', () => join(NIBABEL_DATA, 'anatomical.nii')],
    ['nibabel reoriented_anat_moved.nii (big-endian float32, oblique)', () => join(NIBABEL_DATA, 'reoriented_anat_moved.nii')],
    ['nibabel standard.nii.gz (sform only)', () => join(NIBABEL_DATA, 'standard.nii.gz')],
    ['Sunnybrook image', () => join(SUNNYBROOK, 'SCD0000101_SC-HF-I-1.nii.gz')],
    ['Sunnybrook labels', () => join(SUNNYBROOK, 'SCD0000301_SC-HF-I-4_gt.nii.gz')],
    ['scaled int16 (scl_slope/inter)', () => join(dir, 'scaled_int16.nii.gz')],
    ['big-endian written by nibabel', () => join(dir, 'big_endian.nii')],
    ['NIfTI-2 float64', () => join(dir, 'nifti2_f64.nii.gz')],
    ['uint16', () => join(dir, 'uint16.nii')],
    ['int8', () => join(dir, 'int8.nii.gz')],
  ];
  for (const [name, file] of files) {
    it(`reads the same voxels, spacing and affine as nibabel: ${name}`, async () => {
      const path = file();
      const ours = await readNifti(path, { orientation: 'stored' });
      const nibabel = theirs.get(path)!;
      assert.deepEqual([...ours.dims], nibabel.shape.concat([1, 1, 1]).slice(0, 3));
      assertClose(ours.spacing, nibabel.zooms, 1e-5, 'spacing');
      assertClose(ours.affine.flat(), nibabel.affine.flat(), 1e-4, 'affine');
      assertClose(ours.data, nibabel.data, 1e-5, 'voxels');
    });
  }

  it('reports the stored format (NIfTI-2, big-endian)', async () => {
    assert.equal((await readNifti(join(dir, 'nifti2_f64.nii.gz'))).version, 2);
    assert.equal((await readNifti(join(dir, 'big_endian.nii'))).littleEndian, false);
  });

  it('consistent orientation is a pure in-plane flip/transpose: every voxel keeps its world position and value', async () => {
    const path = join(SUNNYBROOK, 'SCD0000201_SC-HF-I-2.nii.gz');
    const [stored, consistent] = await Promise.all([readNifti(path, { orientation: 'stored' }), readNifti(path)]);
    assert.notDeepEqual(consistent.reorientation, { transpose: false, flipX: false, flipY: false }, 'this oblique file needs reorienting');
    const [nx, ny] = consistent.dims;
    const [sx] = stored.dims;
    const inverse = invert(stored.affine);
    for (const [i, j, k] of [[0, 0, 0], [nx - 1, 3, 2], [17, ny - 1, 8], [100, 57, 4]] as const) {
      const world = apply(consistent.affine, [i, j, k]);
      const [si, sj, sk] = apply(inverse, world).map((v) => Math.round(v)) as [number, number, number];
      const s = [si, sj, sk].map((v, a) => Math.abs(v - apply(inverse, world)[a]!));
      assert.ok(s.every((d) => d < 1e-3), 'maps onto a stored voxel centre');
      assert.equal(consistent.data[(k * ny + j) * nx + i], stored.data[(sk * stored.dims[1] + sj) * sx + si]);
    }
    // Columns run toward the patient's left.
    assert.ok(consistent.affine[0]![0]! > 0);
  });

  it('rejects 4D input with not-3d (nibabel example4d and NIfTI-2 4D)', async () => {
    await expectDataError(join(NIBABEL_DATA, 'example4d.nii.gz'), 'not-3d');
    await expectDataError(join(NIBABEL_DATA, 'example_nifti2.nii.gz'), 'not-3d');
  });

  it('gives a typed error naming the file for corrupt gzip, truncated data, a lying header, garbage', async () => {
    const source = join(SUNNYBROOK, 'SCD0000101_SC-HF-I-1.nii.gz');
    const gz = await readFile(source);
    const raw = gunzipSync(gz);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 40, 400);
    await writeFile(join(dir, 'corrupt.nii.gz'), corrupt);
    await expectDataError(join(dir, 'corrupt.nii.gz'), 'corrupt-gzip');
    await writeFile(join(dir, 'cut.nii.gz'), gz.subarray(0, gz.length >> 1));
    await expectDataError(join(dir, 'cut.nii.gz'), 'corrupt-gzip');
    await writeFile(join(dir, 'truncated.nii'), raw.subarray(0, raw.length - 1000));
    await expectDataError(join(dir, 'truncated.nii'), 'truncated');
    const lying = Buffer.from(raw);
    lying.writeInt32LE(1000, 0);
    await writeFile(join(dir, 'lying.nii.gz'), gzipSync(lying));
    await expectDataError(join(dir, 'lying.nii.gz'), 'bad-header');
    const bigger = Buffer.from(raw);
    bigger.writeInt16LE(512, 42); // dim[1] 256 → 512: more voxels than the file holds
    await writeFile(join(dir, 'bigger.nii'), bigger);
    await expectDataError(join(dir, 'bigger.nii'), 'truncated');
    await writeFile(join(dir, 'text.nii'), 'not an image at all'.repeat(40));
    await expectDataError(join(dir, 'text.nii'), 'bad-header');
    await expectDataError(join(dir, 'missing.nii'), 'not-found');
  });
});

describe('imaging: NIfTI writer', function () {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'lgefed-niftiw-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('write → read round trip keeps labels, probabilities and the oblique geometry, and nibabel agrees', async () => {
    const source = await readNifti(join(SUNNYBROOK, 'SCD0000201_SC-HF-I-2.nii.gz'), { orientation: 'stored' });
    const labels = new Uint8Array(source.data.length).map((_, i) => (i * 7) % 3);
    const probabilities = new Float32Array(source.data.length).map((_, i) => ((i * 13) % 101) / 100);
    const written = [['labels.nii.gz', labels], ['probabilities.nii', probabilities]] as const;
    for (const [name, data] of written) {
      const file = join(dir, name);
      await writeNifti(file, { data, dims: source.dims, affine: source.affine });
      const back = await readNifti(file, { orientation: 'stored' });
      assert.deepEqual(back.dims, source.dims);
      assertClose(back.data, data, 0, `${name} voxels`);
      assertClose(back.affine.flat(), source.affine.flat(), 1e-5, `${name} affine`);
    }
    const nibabel = await nibabelReadAll(written.map(([name]) => join(dir, name)));
    written.forEach(([name, data], i) => {
      const theirs = nibabel[i]!;
      assertClose(theirs.affine.flat(), source.affine.flat(), 1e-5, `${name} nibabel affine`);
      assertClose(theirs.zooms, source.spacing, 1e-5, `${name} nibabel zooms`);
      assertClose(theirs.data, data, 1e-7, `${name} nibabel voxels`);
      // The qform written alongside the sform must describe the same grid (ITK-SNAP reads the qform).
      assertClose(theirs.qform.flat(), source.affine.flat(), 1e-4, `${name} qform`);
    });
  });

  it('round-trips a left-handed (flipped) affine through the qform', async () => {
    const affine = [[-1.5, 0, 0, 90], [0, -1.5, 0, 100], [0, 0, 10, -20], [0, 0, 0, 1]];
    const file = join(dir, 'flipped.nii');
    await writeNifti(file, { data: new Uint8Array(24).fill(1), dims: [4, 3, 2], affine });
    const q = await python<number[][]>('print(json.dumps(nib.load(sys.argv[1]).get_qform().tolist()))', [file]);
    assertClose(q.flat(), affine.flat(), 1e-5, 'qform');
    await copyFile(file, join(dir, 'copy.nii'));
    assertClose((await readNifti(join(dir, 'copy.nii'), { orientation: 'stored' })).spacing, [1.5, 1.5, 10], 1e-6, 'spacing');
  });
});

function apply(m: number[][], v: readonly number[]): number[] {
  return [0, 1, 2].map((r) => m[r]![0]! * v[0]! + m[r]![1]! * v[1]! + m[r]![2]! * v[2]! + m[r]![3]!);
}

function invert(m: number[][]): number[][] {
  const [a, b, c] = [m[0]!, m[1]!, m[2]!];
  const det = a[0]! * (b[1]! * c[2]! - b[2]! * c[1]!) - a[1]! * (b[0]! * c[2]! - b[2]! * c[0]!) + a[2]! * (b[0]! * c[1]! - b[1]! * c[0]!);
  const r = [
    [(b[1]! * c[2]! - b[2]! * c[1]!) / det, (a[2]! * c[1]! - a[1]! * c[2]!) / det, (a[1]! * b[2]! - a[2]! * b[1]!) / det],
    [(b[2]! * c[0]! - b[0]! * c[2]!) / det, (a[0]! * c[2]! - a[2]! * c[0]!) / det, (a[2]! * b[0]! - a[0]! * b[2]!) / det],
    [(b[0]! * c[1]! - b[1]! * c[0]!) / det, (a[1]! * c[0]! - a[0]! * c[1]!) / det, (a[0]! * b[1]! - a[1]! * b[0]!) / det],
  ];
  const t = [0, 1, 2].map((i) => -(r[i]![0]! * a[3]! + r[i]![1]! * b[3]! + r[i]![2]! * c[3]!));
  return [[...r[0]!, t[0]!], [...r[1]!, t[1]!], [...r[2]!, t[2]!], [0, 0, 0, 1]];
}
