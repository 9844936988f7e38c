import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Case, Spacing } from '../types.js';
import { checkDecodedSize, type DecodeLimit } from './decode-limit.js';
import { DataError, type DataErrorCode } from './errors.js';
import { applyLabelMap, type LabelMap } from './labels.js';
import { DEFAULT_LABEL_MAPS, discoverDataset, type CaseEntry, type Layout } from './layouts.js';
import { readNifti, type NiftiReadOptions } from './nifti-read.js';
import { readPngSamples } from './png.js';

/** A loaded case plus what its label file held, so unknown values can be reported. */
export interface LoadedCase extends Case {
  /** Distinct raw values in the site's label file. */
  readonly labelValues?: readonly number[];
  /** Raw label values with no mapping (their voxels became background). */
  readonly unknownLabelValues?: readonly number[];
  /** True when spacing came from neither the file nor a sidecar, but from the stated/assumed default. */
  readonly spacingAssumed?: boolean;
}

export interface DataProblem {
  readonly file: string;
  readonly code: DataErrorCode;
  readonly message: string;
  readonly caseId?: string;
}

export interface LoadOptions extends NiftiReadOptions {
  readonly layout?: Layout | 'auto';
  /** Per-site override of the layout's default label mapping. */
  readonly labelMap?: LabelMap;
  /** Spacing for PNG slices without a `spacing.json` sidecar, mm [x, y, z]. */
  readonly defaultSpacing?: Spacing;
  /** Cases read at the same time (I/O and gunzip overlap on the thread pool). */
  readonly concurrency?: number;
}

export interface LoadedDataset {
  readonly layout: Layout;
  readonly root: string;
  readonly cases: LoadedCase[];
  /** Every file that could not be used, with its reason; the rest of the dataset still loads. */
  readonly problems: DataProblem[];
}

/** Spacing when PNGs carry none and nobody stated one: EMIDEC-like 1.5 mm in-plane, 10 mm slices. */
export const ASSUMED_PNG_SPACING: Spacing = [1.5, 1.5, 10];

/** `spacing.json` next to `images/`: `[x, y, z]` for all cases, or `{"default": [...], "<case id>": [...]}`. */
export async function readSpacingSidecar(root: string): Promise<((id: string) => Spacing | undefined) | undefined> {
  const file = join(root, 'spacing.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const valid = (s: unknown): s is Spacing => Array.isArray(s) && s.length === 3 && s.every((v) => typeof v === 'number' && v > 0 && Number.isFinite(v));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DataError('bad-spacing', file, `invalid JSON (${(err as Error).message})`);
  }
  if (valid(parsed)) return () => parsed as Spacing;
  if (parsed && typeof parsed === 'object') {
    const table = parsed as Record<string, unknown>;
    for (const [k, v] of Object.entries(table)) if (!valid(v)) throw new DataError('bad-spacing', file, `entry '${k}' is not [x, y, z] positive millimetres`);
    return (id) => (table[id] ?? table.default) as Spacing | undefined;
  }
  throw new DataError('bad-spacing', file, 'expected [x, y, z] or {"default": [x, y, z], "<case>": [x, y, z]}');
}

export interface CaseLoadContext extends NiftiReadOptions {
  readonly labelMap: LabelMap;
  readonly spacingFor?: (id: string) => Spacing | undefined;
  readonly defaultSpacing?: Spacing;
}

/** Reads one case's image and label files and maps labels to our convention. */
export async function loadCase(entry: CaseEntry, context: CaseLoadContext): Promise<LoadedCase> {
  const source = [...entry.images.slice(0, 1), ...(entry.labels ?? []).slice(0, 1)].join(' + ');
  if (entry.format === 'nifti') {
    const image = await readNifti(entry.images[0]!, context);
    const base = { id: entry.id, source, image: { data: image.data, dims: image.dims, spacing: image.spacing } };
    if (!entry.labels) return base;
    const labelFile = entry.labels[0]!;
    const raw = await readNifti(labelFile, context);
    if (raw.dims.join() !== image.dims.join()) {
      throw new DataError('shape-mismatch', labelFile, `label is ${raw.dims.join('x')} but its image ${entry.images[0]} is ${image.dims.join('x')}`);
    }
    const mapped = applyLabelMap(raw.data, context.labelMap);
    return { ...base, label: { data: mapped.data, dims: image.dims, spacing: image.spacing }, labelValues: mapped.values, unknownLabelValues: mapped.unknown };
  }
  const stated = context.spacingFor?.(entry.id);
  const spacing = stated ?? context.defaultSpacing ?? ASSUMED_PNG_SPACING;
  const image = await stackPngs(entry.images, Float32Array, context);
  const base = { id: entry.id, source, image: { data: image.data, dims: image.dims, spacing }, spacingAssumed: !stated && !context.defaultSpacing };
  if (!entry.labels) return base;
  const raw = await stackPngs(entry.labels, Uint16Array, context);
  if (raw.dims.join() !== image.dims.join()) {
    throw new DataError('shape-mismatch', entry.labels[0]!, `label stack is ${raw.dims.join('x')} but the image stack is ${image.dims.join('x')}`);
  }
  const mapped = applyLabelMap(raw.data, context.labelMap);
  return { ...base, label: { data: mapped.data, dims: image.dims, spacing }, labelValues: mapped.values, unknownLabelValues: mapped.unknown };
}

/** Reads PNG slices into one volume (slice k at z = k): images as floats, labels as their integer samples. */
async function stackPngs<T extends Float32Array | Uint16Array>(
  files: readonly string[],
  Stack: { new (n: number): T; readonly BYTES_PER_ELEMENT: number },
  limit: DecodeLimit,
): Promise<{ data: T; dims: [number, number, number] }> {
  const first = await readPngSamples(files[0]!, limit);
  const { width, height } = first;
  // The stack is one volume: it is bounded as a whole, not only slice by slice.
  checkDecodedSize(width * height * files.length * Stack.BYTES_PER_ELEMENT, limit, files[0]!, `stack of ${files.length} ${width}x${height} slices`);
  const slices = [first, ...(await Promise.all(files.slice(1).map((f) => readPngSamples(f, limit))))];
  const data = new Stack(width * height * slices.length);
  slices.forEach((s, k) => {
    if (s.width !== width || s.height !== height) {
      throw new DataError('shape-mismatch', files[k]!, `slice is ${s.width}x${s.height} but ${files[0]} is ${width}x${height}`);
    }
    data.set(s.samples, k * width * height);
  });
  return { data, dims: [width, height, slices.length] };
}

/**
 * Loads every case it can; a bad file becomes a problem naming the file and its reason, never an abort.
 * Throws only when the folder itself is unusable (missing, unknown layout, bad manifest).
 */
export async function loadDataset(root: string, options: LoadOptions = {}): Promise<LoadedDataset> {
  const found = await discoverDataset(root, options.layout ?? 'auto');
  const problems: DataProblem[] = found.orphans.map((o) => ({ file: o.file, code: 'orphan-file' as const, message: `${o.file}: ${o.reason}` }));
  let spacingFor: ((id: string) => Spacing | undefined) | undefined;
  try {
    spacingFor = await readSpacingSidecar(found.root);
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    problems.push({ file: err.file, code: err.code, message: err.message });
  }
  const context: CaseLoadContext = {
    labelMap: options.labelMap ?? DEFAULT_LABEL_MAPS[found.layout],
    ...(spacingFor ? { spacingFor } : {}),
    ...(options.defaultSpacing ? { defaultSpacing: options.defaultSpacing } : {}),
    ...(options.orientation ? { orientation: options.orientation } : {}),
    ...(options.maxDecodedBytes !== undefined ? { maxDecodedBytes: options.maxDecodedBytes } : {}),
  };
  const results: (LoadedCase | undefined)[] = new Array(found.entries.length);
  let next = 0;
  const worker = async () => {
    while (next < found.entries.length) {
      const i = next++;
      const entry = found.entries[i]!;
      try {
        results[i] = await loadCase(entry, context);
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        problems.push({ file: err.file, code: err.code, message: err.message, caseId: entry.id });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return { layout: found.layout, root: found.root, cases: results.filter((c): c is LoadedCase => c !== undefined), problems };
}
