import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { DataError, decodePngSamples, encodeNifti, encodePng, loadDataset, readNifti, type DataErrorCode } from '@lgefed/shared/imaging/index';

const SUNNYBROOK_CASE = '/work/shared/data/sunnybrook-cine-nifti/SCD0000101_SC-HF-I-1.nii.gz';

function isDataError(code: DataErrorCode, file: string, detail?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.file, file);
    if (detail) assert.match(err.message, detail);
    return true;
  };
}

/**
 * `copies` gzip members of 1 MiB of zeros each: gunzip inflates concatenated members as one stream, so
 * a file of about 1 KiB per MiB inflates to `copies` MiB, built without compressing gigabytes.
 */
function zeroMebibytes(copies: number): Buffer {
  const member = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  return Buffer.concat(Array.from({ length: copies }, () => member));
}

/** A PNG with the given IHDR size and depth and `idat` as its compressed pixel data (CRCs zero: the reader does not check them). */
function png(width: number, height: number, depth: 8 | 16, idat: Uint8Array): Buffer {
  const chunk = (type: string, data: Uint8Array) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    Buffer.from(data).copy(out, 8);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array())]);
}

describe('imaging: decompression bombs are refused (issue 13, medium 13)', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'lgefed-bombs-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('a .nii.gz whose header asks for more than the limit is refused from its header (too-large), the default limit included', async () => {
    const small = encodeNifti({ data: new Int16Array(4 * 4 * 2).fill(3), dims: [4, 4, 2], spacing: [1, 1, 8] });
    const header = Buffer.from(small);
    // 2048 x 2048 x 512 int16: 4 GiB promised by a file of a few MiB of zeros.
    [2048, 2048, 512].forEach((d, i) => header.writeInt16LE(d, 42 + 2 * i));
    const bomb = join(dir, 'dims-bomb.nii.gz');
    await writeFile(bomb, Buffer.concat([gzipSync(header.subarray(0, 352)), zeroMebibytes(4096)]));
    await assert.rejects(readNifti(bomb), isDataError('too-large', bomb, /4294967648 bytes, more than the 1073741824 allowed \(maxDecodedBytes\)/));
    // The limit is the caller's: a real Sunnybrook volume (~1.2 MB of voxels) under a 1 MB limit.
    await assert.rejects(readNifti(SUNNYBROOK_CASE, { maxDecodedBytes: 1_000_000 }), isDataError('too-large', SUNNYBROOK_CASE));
    assert.ok((await readNifti(SUNNYBROOK_CASE)).data.length > 0);
    // And through the dataset loader: the case becomes a problem naming the file, the load goes on.
    const site = join(dir, 'site');
    await mkdir(site);
    await writeFile(join(site, 'case1.nii.gz'), await readFile(SUNNYBROOK_CASE));
    const loaded = await loadDataset(site, { layout: 'nifti-pairs', maxDecodedBytes: 1_000_000 });
    assert.deepEqual(loaded.cases, []);
    assert.deepEqual(loaded.problems.map((p) => p.code), ['too-large']);
  });

  it('a .nii.gz with a small header and gigabytes after its voxels is read without inflating the rest (3 GiB tail, corrupt end)', async () => {
    const voxels = Int16Array.from({ length: 4 * 4 * 2 }, (_, i) => i - 7);
    const head = gzipSync(encodeNifti({ data: voxels, dims: [4, 4, 2], spacing: [1, 1, 8] }));
    // 3 GiB of zeros after the volume, then a member cut short: reading to the end would fail with corrupt-gzip.
    const tail = zeroMebibytes(3 * 1024);
    const cut = gzipSync(Buffer.alloc(4096, 1)).subarray(0, 20);
    const file = join(dir, 'tail-bomb.nii.gz');
    await writeFile(file, Buffer.concat([head, tail, cut]));
    const started = process.hrtime.bigint();
    const volume = await readNifti(file, { orientation: 'stored' });
    assert.deepEqual(volume.dims, [4, 4, 2]);
    assert.deepEqual([...volume.data], [...voxels]);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    assert.ok(seconds < 2, `took ${seconds.toFixed(2)} s: as long as inflating the tail would`);
  });

  it('a truncated or corrupt .nii.gz is still corrupt-gzip, not a short read', async () => {
    const gz = await readFile(SUNNYBROOK_CASE);
    const cut = join(dir, 'cut.nii.gz');
    await writeFile(cut, gz.subarray(0, gz.length >> 1));
    await assert.rejects(readNifti(cut), isDataError('corrupt-gzip', cut));
  });

  it('a PNG whose header asks for more than the limit is refused before inflating (too-large), the default limit included', () => {
    // 100000 x 100000 8-bit grey: 40 GB as RGBA from a few hundred bytes.
    const huge = png(100_000, 100_000, 8, deflateSync(Buffer.alloc(1 << 20)));
    assert.throws(() => decodePngSamples(huge, 'huge.png'), isDataError('too-large', 'huge.png', /100000x100000 pixel image would decode to 40000000000 bytes/));
    // The limit is the caller's: a 64 x 64 slice as RGBA is 16 KiB.
    const grey = new Uint8Array(64 * 64).fill(9);
    const slice = encodePng(grey, 64, 64, 1);
    assert.equal(decodePngSamples(slice, 'slice.png').samples.length, 64 * 64);
    assert.throws(() => decodePngSamples(slice, 'slice.png', { maxDecodedBytes: 10_000 }), isDataError('too-large', 'slice.png'));
    assert.throws(() => decodePngSamples(png(0, 5, 8, deflateSync(Buffer.alloc(5))), 'empty.png'), isDataError('bad-png', 'empty.png'));
  });

  it('a PNG whose pixel data inflates past the rows its header declares is refused, not inflated (bad-png)', () => {
    // 4 x 4 pixels declared, 64 MiB of pixel data (before, the first rows were decoded and the rest ignored).
    const rows = 4 * (4 + 1);
    const overflowing = png(4, 4, 8, deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 1 }));
    assert.throws(() => decodePngSamples(overflowing, 'overflow.png'), isDataError('bad-png', 'overflow.png', /corrupt/));
    // Exactly the declared rows still decode.
    assert.equal(decodePngSamples(png(4, 4, 8, deflateSync(Buffer.alloc(rows))), 'ok.png').samples.length, 16);
  });

  it('a stack of PNG slices is bounded as one volume', async () => {
    const site = join(dir, 'slices');
    await mkdir(join(site, 'images'), { recursive: true });
    const slice = encodePng(new Uint8Array(32 * 32).fill(50), 32, 32, 1);
    for (let k = 0; k < 8; k++) await writeFile(join(site, 'images', `Case_A_slice${String(k).padStart(3, '0')}.png`), slice);
    // Each slice is 4 KiB as RGBA, the 8-slice float volume 32 KiB.
    const refused = await loadDataset(site, { layout: 'png-slices', maxDecodedBytes: 16 * 1024 });
    assert.deepEqual(refused.problems.map((p) => [p.code, /stack of 8 32x32 slices/.test(p.message)]), [['too-large', true]]);
    const loaded = await loadDataset(site, { layout: 'png-slices', maxDecodedBytes: 64 * 1024 });
    assert.deepEqual(loaded.cases.map((c) => c.image.dims), [[32, 32, 8]]);
  });
});
