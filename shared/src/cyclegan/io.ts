/**
 * A trained harmoniser on disk: `cyclegan.json` (format, spec, tensor manifest) and `generator.bin`
 * (the site → reference generator's float32 values, manifest order), so a site can train once and
 * harmonise every later evaluation. The manifest keeps the in-plane spacing the generator learnt at,
 * which is the scale it must be applied at.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirectoryAtomically, type DirectoryFile } from '../files/atomic-directory.js';
import { elementCount, type NamedTensor } from '../model/weights.js';
import { CycleGanError } from './errors.js';
import { generatorLayout, pickWeights, validateCycleGanSpec, type CycleGanSpec } from './spec.js';

const MANIFEST = 'cyclegan.json';
const WEIGHTS = 'generator.bin';
const FORMAT = 'lgefed-cyclegan/1';

interface Manifest {
  readonly format: typeof FORMAT;
  readonly spec: CycleGanSpec;
  /** In-plane spacing (mm) of the slices the generator was trained on. */
  readonly spacing: [number, number];
  readonly tensors: { name: string; shape: number[] }[];
}

export interface SavedCycleGan {
  readonly spec: CycleGanSpec;
  readonly generator: NamedTensor[];
  readonly spacing: [number, number];
}

function checkedSpacing(value: unknown, where: string): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || !value.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw new CycleGanError(`${where}: spacing must be two positive millimetre values, got ${JSON.stringify(value)}`);
  }
  return [value[0] as number, value[1] as number];
}

/** Writes the generator, with `extra` files (a training report) in the same atomic replacement. */
export async function saveCycleGanGenerator(directory: string, spec: CycleGanSpec, weights: readonly NamedTensor[], spacing: readonly [number, number], extra: readonly DirectoryFile[] = []): Promise<void> {
  const ordered = pickWeights(generatorLayout(validateCycleGanSpec(spec), 'toReference'), weights);
  const manifest: Manifest = { format: FORMAT, spec, spacing: checkedSpacing([...spacing], directory), tensors: ordered.map(({ name, shape }) => ({ name, shape: [...shape] })) };
  await writeDirectoryAtomically(directory, [
    { name: WEIGHTS, data: ordered.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)) },
    { name: MANIFEST, data: `${JSON.stringify(manifest, null, 2)}\n` },
    ...extra,
  ]);
}

export async function loadCycleGanGenerator(directory: string): Promise<SavedCycleGan> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(directory, MANIFEST), 'utf8')) as Manifest;
  } catch (error) {
    throw new CycleGanError(`cannot read ${join(directory, MANIFEST)}: ${(error as Error).message}`);
  }
  if (manifest.format !== FORMAT) throw new CycleGanError(`${directory}: unknown format ${JSON.stringify(manifest.format)}`);
  const spec = validateCycleGanSpec(manifest.spec);
  const spacing = checkedSpacing(manifest.spacing, join(directory, MANIFEST));
  const bytes = await readFile(join(directory, WEIGHTS));
  const expected = manifest.tensors.reduce((n, t) => n + 4 * elementCount(t.shape), 0);
  if (bytes.byteLength !== expected) throw new CycleGanError(`${directory}: ${WEIGHTS} has ${bytes.byteLength} bytes, the manifest describes ${expected}`);
  const all = new Float32Array(expected / 4);
  new Uint8Array(all.buffer).set(bytes);
  let offset = 0;
  const tensors = manifest.tensors.map(({ name, shape }) => {
    const data = all.subarray(offset, offset + elementCount(shape));
    offset += data.length;
    return { name, shape, data };
  });
  return { spec, spacing, generator: pickWeights(generatorLayout(spec, 'toReference'), tensors) };
}
