/**
 * A trained harmoniser on disk: `cyclegan.json` (format, spec, tensor manifest) and `generator.bin`
 * (the site → reference generator's float32 values, manifest order), so a site can train once and
 * harmonise every later evaluation.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { elementCount, type NamedTensor } from '../model/weights.js';
import { CycleGanError } from './errors.js';
import { generatorLayout, pickWeights, validateCycleGanSpec, type CycleGanSpec } from './spec.js';

const MANIFEST = 'cyclegan.json';
const WEIGHTS = 'generator.bin';
const FORMAT = 'lgefed-cyclegan/1';

interface Manifest {
  readonly format: typeof FORMAT;
  readonly spec: CycleGanSpec;
  readonly tensors: { name: string; shape: number[] }[];
}

export async function saveCycleGanGenerator(directory: string, spec: CycleGanSpec, weights: readonly NamedTensor[]): Promise<void> {
  const ordered = pickWeights(generatorLayout(validateCycleGanSpec(spec), 'toReference'), weights);
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, WEIGHTS), ordered.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
  const manifest: Manifest = { format: FORMAT, spec, tensors: ordered.map(({ name, shape }) => ({ name, shape: [...shape] })) };
  await writeFile(join(directory, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

export async function loadCycleGanGenerator(directory: string): Promise<{ spec: CycleGanSpec; generator: NamedTensor[] }> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(directory, MANIFEST), 'utf8')) as Manifest;
  } catch (error) {
    throw new CycleGanError(`cannot read ${join(directory, MANIFEST)}: ${(error as Error).message}`);
  }
  if (manifest.format !== FORMAT) throw new CycleGanError(`${directory}: unknown format ${JSON.stringify(manifest.format)}`);
  const spec = validateCycleGanSpec(manifest.spec);
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
  return { spec, generator: pickWeights(generatorLayout(spec, 'toReference'), tensors) };
}
