/**
 * A model on disk is a directory: `spec.json` (spec, tensor manifest, dtype, model id) and
 * `weights.bin` (the tensors' little-endian values back to back, in manifest order). A model id is
 * the sha256 of the canonical spec JSON followed by every tensor (name, shape, float32 bytes) in
 * name order, so it names the exact network whatever the file layout. Saving as float16 halves the
 * files; the id is then that of the float16-rounded weights, which is what a load gives back.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromFloat16, toFloat16 } from '@lgefed/protocol';
import { writeDirectoryAtomically, type DirectoryFile } from '../files/atomic-directory.js';
import { validateSpec, type UNetSpec } from './spec.js';
import { checkWeights, elementCount, WeightsError, type NamedTensor } from './weights.js';

export const SPEC_FILE = 'spec.json';
export const WEIGHTS_FILE = 'weights.bin';
const FORMAT = 'lgefed-model/1';

export interface ModelFiles {
  readonly spec: UNetSpec;
  /** Canonical order (see parameterLayout). */
  readonly weights: NamedTensor[];
  readonly id: string;
}

export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
}

/** JSON with object keys sorted, so equal specs serialise to equal bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function littleEndianBytes(data: Float32Array): Uint8Array {
  // Every platform Node supports is little-endian; the view avoids a copy.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** sha256 (hex) of canonical spec JSON + tensors in name order. */
export function modelId(spec: UNetSpec, weights: readonly NamedTensor[]): string {
  const hash = createHash('sha256');
  hash.update(canonicalJson(spec));
  const byName = [...weights].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const tensor of byName) {
    hash.update(`\n${tensor.name}[${tensor.shape.join(',')}]`);
    hash.update(littleEndianBytes(tensor.data));
  }
  return hash.digest('hex');
}

export type StorageDType = 'float32' | 'float16';

export interface SaveOptions {
  /** Precision of weights.bin (default float32). */
  readonly dtype?: StorageDType;
  /** More files written into the same directory in the same atomic step (a checkpoint's optimiser state). */
  readonly extraFiles?: readonly DirectoryFile[];
}

const BYTES_PER_VALUE: Record<StorageDType, number> = { float32: 4, float16: 2 };

interface Manifest {
  readonly format: typeof FORMAT;
  readonly id: string;
  readonly dtype: StorageDType;
  readonly spec: UNetSpec;
  readonly tensors: { name: string; shape: number[] }[];
}

/**
 * Writes the model directory atomically (a sibling temporary directory renamed into place), so a
 * reader or a crash never sees half a checkpoint. Returns the model id.
 */
export async function saveModel(directory: string, spec: UNetSpec, weights: readonly NamedTensor[], options: SaveOptions = {}): Promise<string> {
  const dtype = options.dtype ?? 'float32';
  const checked = checkWeights(spec, weights);
  const halves = dtype === 'float16' ? checked.map((t) => toFloat16(t.data)) : undefined;
  const ordered = halves ? checked.map((t, i) => ({ ...t, data: fromFloat16(halves[i]!) })) : checked;
  const id = modelId(spec, ordered);
  const manifest: Manifest = {
    format: FORMAT,
    id,
    dtype,
    spec,
    tensors: ordered.map(({ name, shape }) => ({ name, shape: [...shape] })),
  };
  const payload = halves ? halves.map((h) => new Uint8Array(h.buffer, h.byteOffset, h.byteLength)) : ordered.map((t) => littleEndianBytes(t.data));
  await writeDirectoryAtomically(directory, [
    { name: WEIGHTS_FILE, data: payload },
    { name: SPEC_FILE, data: `${JSON.stringify(manifest, null, 2)}\n` },
    ...(options.extraFiles ?? []),
  ]);
  return id;
}

/** Reads and verifies a model directory: manifest, sizes, spec/weights agreement and the model id. */
export async function loadModel(directory: string): Promise<ModelFiles> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(directory, SPEC_FILE), 'utf8')) as Manifest;
  } catch (error) {
    throw new ModelFileError(`cannot read ${join(directory, SPEC_FILE)}: ${(error as Error).message}`);
  }
  if (manifest.format !== FORMAT) throw new ModelFileError(`${directory}: unknown model format ${JSON.stringify(manifest.format)}`);
  if (manifest.dtype !== 'float32' && manifest.dtype !== 'float16') throw new ModelFileError(`${directory}: unsupported dtype ${JSON.stringify(manifest.dtype)}`);
  const width = BYTES_PER_VALUE[manifest.dtype];
  if (!Array.isArray(manifest.tensors)) throw new ModelFileError(`${directory}: manifest has no tensor list`);
  const spec = validateSpec(manifest.spec);
  const bytes = await readFile(join(directory, WEIGHTS_FILE));
  const expected = manifest.tensors.reduce((n, t) => n + width * elementCount(t.shape), 0);
  if (bytes.byteLength !== expected) {
    throw new ModelFileError(`${directory}: ${WEIGHTS_FILE} has ${bytes.byteLength} bytes, the manifest describes ${expected}`);
  }
  let all: Float32Array;
  if (manifest.dtype === 'float16') {
    const halves = new Uint16Array(expected / 2);
    new Uint8Array(halves.buffer).set(bytes);
    all = fromFloat16(halves);
  } else {
    all = new Float32Array(expected / 4);
    new Uint8Array(all.buffer).set(bytes);
  }
  let offset = 0;
  const tensors = manifest.tensors.map(({ name, shape }) => {
    const count = elementCount(shape);
    const tensor = { name, shape, data: all.subarray(offset, offset + count) };
    offset += count;
    return tensor;
  });
  let weights: NamedTensor[];
  try {
    weights = checkWeights(spec, tensors);
  } catch (error) {
    if (error instanceof WeightsError) throw new ModelFileError(`${directory}: ${error.message}`);
    throw error;
  }
  const id = modelId(spec, weights);
  if (id !== manifest.id) throw new ModelFileError(`${directory}: content hashes to ${id}, the manifest says ${manifest.id} (corrupt or edited)`);
  return { spec, weights, id };
}
