import { writeFile } from 'node:fs/promises';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { affineToQuaternion, diagonalAffine, type Affine } from './affine.js';
import { DataError } from './errors.js';

const gzipAsync = promisify(gzip);

/** What to write, x fastest: a label map (Uint8Array, or Int16Array for values like 500), or a probability/intensity map. */
export interface NiftiWriteInput {
  readonly data: Uint8Array | Int16Array | Float32Array;
  /** Stored value → real value as scl_slope · v + scl_inter (how scanners store int16 with a scale). */
  readonly scale?: { readonly slope: number; readonly inter: number };
  readonly dims: readonly [number, number, number];
  /** Voxel→world in mm; without it the grid is axis-aligned with `spacing`. */
  readonly affine?: Affine;
  readonly spacing?: readonly [number, number, number];
  readonly description?: string;
}

const HEADER_BYTES = 348;
const VOX_OFFSET = 352;

/** Encodes a little-endian NIfTI-1 file with matching qform and sform, readable by nibabel and ITK-SNAP. */
export function encodeNifti(input: NiftiWriteInput, file = '<memory>'): Uint8Array {
  const { data, dims } = input;
  const count = dims[0] * dims[1] * dims[2];
  if (data.length !== count) throw new DataError('bad-input', file, `data has ${data.length} voxels but dims ${dims.join('x')} need ${count}`);
  const affine = input.affine ?? diagonalAffine(input.spacing ?? [1, 1, 1]);
  const isLabel = !(data instanceof Float32Array);
  const bytesPerVoxel = data.BYTES_PER_ELEMENT;
  const datatype = data instanceof Uint8Array ? 2 : data instanceof Int16Array ? 4 : 16;
  const out = new Uint8Array(VOX_OFFSET + count * bytesPerVoxel);
  const v = new DataView(out.buffer);
  v.setInt32(0, HEADER_BYTES, true);
  v.setUint8(39, 0);
  const dim = [3, dims[0], dims[1], dims[2], 1, 1, 1, 1];
  dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, true));
  v.setInt16(70, datatype, true);
  v.setInt16(72, bytesPerVoxel * 8, true);
  const q = affineToQuaternion(affine);
  const pixdim = [q.qfac, q.pixdim[0], q.pixdim[1], q.pixdim[2], 1, 1, 1, 1];
  pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, true));
  v.setFloat32(108, VOX_OFFSET, true);
  v.setFloat32(112, input.scale?.slope ?? 1, true);
  v.setFloat32(116, input.scale?.inter ?? 0, true);
  v.setUint8(123, 2); // xyzt_units: millimetres
  if (isLabel) {
    let max = 0;
    for (let i = 0; i < count; i++) if (data[i]! > max) max = data[i]!;
    v.setFloat32(124, max, true); // cal_max so viewers pick a useful window
  }
  const description = (input.description ?? 'lgefed').slice(0, 79);
  for (let i = 0; i < description.length; i++) v.setUint8(148 + i, description.charCodeAt(i) & 0x7f);
  v.setInt16(252, 1, true); // qform_code: scanner
  v.setInt16(254, 1, true); // sform_code: scanner
  v.setFloat32(256, q.b, true);
  v.setFloat32(260, q.c, true);
  v.setFloat32(264, q.d, true);
  q.offset.forEach((o, i) => v.setFloat32(268 + 4 * i, o, true));
  for (let row = 0; row < 3; row++) for (let col = 0; col < 4; col++) v.setFloat32(280 + (row * 4 + col) * 4, affine[row]![col]!, true);
  [0x6e, 0x2b, 0x31, 0].forEach((c, i) => v.setUint8(344 + i, c)); // magic "n+1"
  new Uint8Array(out.buffer, VOX_OFFSET).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

/** Writes `.nii` or, when the name ends in `.gz`, gzip-compressed `.nii.gz`. */
export async function writeNifti(file: string, input: NiftiWriteInput): Promise<void> {
  const raw = encodeNifti(input, file);
  await writeFile(file, file.endsWith('.gz') ? await gzipAsync(raw) : raw);
}
