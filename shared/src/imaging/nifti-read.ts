import { createGunzip } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { checkDecodedSize, type DecodeLimit } from './decode-limit.js';
import { DataError } from './errors.js';
import { readBytes } from './files.js';
import { axisLength, diagonalAffine, quaternionAffine, type Affine } from './affine.js';
import {
  chooseInPlaneReorientation,
  gatherReoriented,
  reorientAffine,
  reorientedDims,
  IDENTITY_REORIENTATION,
  type InPlaneReorientation,
  type NumericArray,
} from './orientation.js';

/** A 3D NIfTI volume as read: scaled voxel values (x fastest), spacing in mm and the voxel→world affine. */
export interface NiftiVolume {
  readonly data: Float32Array;
  readonly dims: [number, number, number];
  readonly spacing: [number, number, number];
  readonly affine: Affine;
  /** NIfTI datatype name as stored, e.g. `int16`. */
  readonly datatype: string;
  readonly version: 1 | 2;
  readonly littleEndian: boolean;
  /** How the stored grid was flipped/transposed in-plane to give `data`. */
  readonly reorientation: InPlaneReorientation;
}

export interface NiftiReadOptions extends DecodeLimit {
  /**
   * `consistent` (default) flips/transposes in-plane so that every site's slices look the same way up
   * (see chooseInPlaneReorientation); `stored` keeps the file's voxel order.
   */
  readonly orientation?: 'consistent' | 'stored';
}

type Decoder = (view: DataView, offset: number, little: boolean) => number;

const DATATYPES: Record<number, { name: string; bytes: number; read: Decoder }> = {
  2: { name: 'uint8', bytes: 1, read: (v, o) => v.getUint8(o) },
  4: { name: 'int16', bytes: 2, read: (v, o, le) => v.getInt16(o, le) },
  8: { name: 'int32', bytes: 4, read: (v, o, le) => v.getInt32(o, le) },
  16: { name: 'float32', bytes: 4, read: (v, o, le) => v.getFloat32(o, le) },
  64: { name: 'float64', bytes: 8, read: (v, o, le) => v.getFloat64(o, le) },
  256: { name: 'int8', bytes: 1, read: (v, o) => v.getInt8(o) },
  512: { name: 'uint16', bytes: 2, read: (v, o, le) => v.getUint16(o, le) },
  768: { name: 'uint32', bytes: 4, read: (v, o, le) => v.getUint32(o, le) },
  1024: { name: 'int64', bytes: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  1280: { name: 'uint64', bytes: 8, read: (v, o, le) => Number(v.getBigUint64(o, le)) },
};

const GZIP_MAGIC = [0x1f, 0x8b];

/** Reads a `.nii` / `.nii.gz` file (NIfTI-1 or -2, either endianness) as one 3D volume. */
export async function readNifti(file: string, options: NiftiReadOptions = {}): Promise<NiftiVolume> {
  let bytes = await readBytes(file);
  if (bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) bytes = await gunzipNifti(bytes, file, options);
  return parseNifti(bytes, file, options);
}

/** NIfTI-2's header and extension flag: enough to find where the voxels start in either version. */
const HEADER_PROBE = 544;
const HEADER_CHUNK = 64 * 1024;

/**
 * Inflates no more than the header says the volume takes, and nothing past the header when that is
 * more than the decode limit: a small file that inflates to gigabytes (a decompression bomb) is
 * refused after a few kilobytes. The header and extensions come first in small chunks; the voxels
 * then in one chunk of the size the header states, so zlib inflates them in one pass (on libuv's
 * thread pool, not blocking the event loop).
 */
async function gunzipNifti(gz: Uint8Array, file: string, limit: DecodeLimit): Promise<Uint8Array> {
  try {
    let head = await gunzipPrefix(gz, HEADER_PROBE, HEADER_CHUNK);
    if (head.byteLength < 348) return head; // parseNifti names it truncated
    const { declared, little } = headerSize(head, file);
    const end = headerEnd(new DataView(head.buffer, head.byteOffset, head.byteLength), declared, little);
    checkDecodedSize(end, limit, file, 'header and extensions');
    if (end > head.byteLength) head = await gunzipPrefix(gz, end, HEADER_CHUNK);
    const { needed } = readLayout(head, file);
    checkDecodedSize(needed, limit, file, 'volume');
    return await gunzipPrefix(gz, needed, Math.max(needed, HEADER_CHUNK));
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError('corrupt-gzip', file, `gzip stream is corrupt (${(err as Error).message})`);
  }
}

/** The first `length` bytes of a gzip stream (fewer if it ends sooner), inflating nothing beyond the chunk that reaches them. */
async function gunzipPrefix(gz: Uint8Array, length: number, chunkSize: number): Promise<Uint8Array> {
  const stream = createGunzip({ chunkSize });
  stream.end(gz);
  const chunks: Buffer[] = [];
  let have = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    have += chunk.byteLength;
    if (have >= length) break; // leaving the loop destroys the stream: the rest is never inflated
  }
  const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  return all.subarray(0, length);
}

/** The header's size, 348 (NIfTI-1) or 540 (NIfTI-2), and the byte order that gives it. */
function headerSize(bytes: Uint8Array, file: string): { declared: number; little: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sizeLE = view.getInt32(0, true);
  const sizeBE = view.getInt32(0, false);
  const declared = [348, 540].includes(sizeLE) ? sizeLE : sizeBE;
  if (![348, 540].includes(declared)) {
    throw new DataError('bad-header', file, `header size field is ${sizeLE}, expected 348 (NIfTI-1) or 540 (NIfTI-2)`);
  }
  return { declared, little: sizeLE === declared };
}

/** What the header says about the voxels; `needed` is the file size they take. */
interface Layout {
  readonly header: nifti.NIFTI1 | nifti.NIFTI2;
  readonly version: 1 | 2;
  readonly type: { name: string; bytes: number; read: Decoder };
  readonly dims: [number, number, number];
  readonly count: number;
  readonly offset: number;
  readonly needed: number;
}

/** Reads and checks the header; `bytes` must reach at least the end of the header and its extensions. */
function readLayout(bytes: Uint8Array, file: string): Layout {
  if (bytes.byteLength < 348) throw new DataError('truncated', file, `only ${bytes.byteLength} bytes, shorter than a NIfTI header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { declared, little } = headerSize(bytes, file);
  if (declared === 540 && bytes.byteLength < 540) throw new DataError('truncated', file, 'shorter than a NIfTI-2 header');
  // nifti-reader-js wants an ArrayBuffer: hand it the header and extensions only, not a copy of every voxel.
  const headerBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + Math.min(bytes.byteLength, headerEnd(view, declared, little))) as ArrayBuffer;
  if (!nifti.isNIFTI(headerBuffer)) throw new DataError('not-nifti', file, 'missing the NIfTI magic string (n+1/ni1/n+2)');
  let header: nifti.NIFTI1 | nifti.NIFTI2;
  try {
    header = nifti.readHeader(headerBuffer);
  } catch (err) {
    throw new DataError('bad-header', file, `unreadable header (${(err as Error).message})`);
  }
  const version = declared === 540 ? 2 : 1;
  const type = DATATYPES[header.datatypeCode];
  if (!type) {
    throw new DataError('unsupported-datatype', file, `datatype ${header.getDatatypeCodeString(header.datatypeCode)} (${header.datatypeCode}) is not a scalar type we read`);
  }
  const rank = header.dims[0]!;
  if (rank < 1 || rank > 7) throw new DataError('bad-header', file, `dim[0] = ${rank} is not 1..7`);
  const extra = header.dims.slice(4, rank + 1).filter((d) => d > 1);
  if (rank > 3 && extra.length > 0) {
    throw new DataError('not-3d', file, `is ${rank}D (dims ${header.dims.slice(1, rank + 1).join('x')}); a 3D volume is expected`);
  }
  const dims: [number, number, number] = [1, 2, 3].map((i) => (i <= rank ? header.dims[i]! : 1)) as [number, number, number];
  if (dims.some((d) => !Number.isInteger(d) || d < 1)) throw new DataError('bad-header', file, `invalid dimensions ${dims.join('x')}`);
  const count = dims[0] * dims[1] * dims[2];
  const offset = Math.max(Math.round(header.vox_offset), version === 1 ? 352 : 544);
  return { header, version, type, dims, count, offset, needed: offset + count * type.bytes };
}

/** Parses an uncompressed NIfTI byte buffer; `file` names it in errors. */
export function parseNifti(bytes: Uint8Array, file: string, options: NiftiReadOptions = {}): NiftiVolume {
  const { header, version, type, dims, count, offset, needed } = readLayout(bytes, file);
  if (bytes.byteLength < needed) {
    throw new DataError('truncated', file, `header promises ${dims.join('x')} ${type.name} voxels (${needed} bytes) but the file has ${bytes.byteLength}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = header.littleEndian;

  const stored = storedAffine(view, header, version, little, file);
  const reorientation = options.orientation === 'stored' ? IDENTITY_REORIENTATION : chooseInPlaneReorientation(stored);
  const data = new Float32Array(count);
  gatherReoriented(storedVoxels(view, offset, count, type, little), data, dims, reorientation);
  const slope = header.scl_slope;
  if (Number.isFinite(slope) && slope !== 0) {
    const inter = Number.isFinite(header.scl_inter) ? header.scl_inter : 0;
    if (slope !== 1 || inter !== 0) for (let i = 0; i < count; i++) data[i] = data[i]! * slope + inter;
  }
  const affine = reorientAffine(stored, dims, reorientation);
  const spacing = [0, 1, 2].map((a) => axisLength(affine, a)) as [number, number, number];
  if (spacing.some((s) => !Number.isFinite(s) || s <= 0)) {
    throw new DataError('bad-spacing', file, `voxel spacing ${spacing.join(' x ')} mm is not positive`);
  }
  return { data, dims: reorientedDims(dims, reorientation), spacing, affine, datatype: type.name, version, littleEndian: little, reorientation };
}

/** Where the voxels start (header + extensions), read straight from the header bytes. */
function headerEnd(view: DataView, declared: number, little: boolean): number {
  const voxOffset = declared === 540 ? Number(view.getBigInt64(168, little)) : view.getFloat32(108, little);
  return Math.max(declared + 4, Number.isFinite(voxOffset) ? Math.round(voxOffset) : 0);
}

const VIEWS: Partial<Record<string, new (buffer: ArrayBufferLike, offset: number, length: number) => NumericArray>> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
};
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The voxels in stored order. With the host's endianness and an aligned offset this is a zero-copy
 * typed-array view; otherwise (byte-swapped, misaligned or 64-bit integers) a decoded copy.
 */
function storedVoxels(view: DataView, offset: number, count: number, type: { name: string; bytes: number; read: Decoder }, little: boolean): NumericArray {
  const at = view.byteOffset + offset;
  const ctor = VIEWS[type.name];
  if (ctor && little === HOST_LITTLE_ENDIAN && at % type.bytes === 0) return new ctor(view.buffer, at, count);
  const out = new Float32Array(count);
  for (let i = 0, o = offset; i < count; i++, o += type.bytes) out[i] = type.read(view, o, little);
  return out;
}

const SPATIAL_UNIT_MM: Record<number, number> = { 0: 1, 1: 1000, 2: 1, 3: 0.001 };

/** The stored voxel→world affine in mm: sform when set (as nibabel and ITK prefer), else qform, else pixdim. */
function storedAffine(view: DataView, header: nifti.NIFTI1 | nifti.NIFTI2, version: 1 | 2, little: boolean, file: string): Affine {
  const unit = SPATIAL_UNIT_MM[header.xyzt_units & 7] ?? 1;
  const pixdim = [1, 2, 3].map((i) => Math.abs(header.pixDims[i] ?? 1) || 1) as [number, number, number];
  let affine: Affine;
  if (header.sform_code > 0) {
    const base = version === 1 ? 280 : 400;
    const step = version === 1 ? 4 : 8;
    affine = [0, 1, 2].map((row) =>
      [0, 1, 2, 3].map((col) => {
        const o = base + (row * 4 + col) * step;
        return version === 1 ? view.getFloat32(o, little) : view.getFloat64(o, little);
      }),
    );
    affine.push([0, 0, 0, 1]);
  } else if (header.qform_code > 0) {
    affine = quaternionAffine(
      header.quatern_b,
      header.quatern_c,
      header.quatern_d,
      [header.qoffset_x, header.qoffset_y, header.qoffset_z],
      pixdim,
      header.pixDims[0]! < 0 ? -1 : 1,
    );
  } else {
    affine = diagonalAffine(pixdim);
  }
  if (affine.flat().some((v) => !Number.isFinite(v))) throw new DataError('bad-header', file, 'voxel-to-world transform has non-finite entries');
  return affine.map((row, r) => (r < 3 ? row.map((v) => v * unit) : row));
}
