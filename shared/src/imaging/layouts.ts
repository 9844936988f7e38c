import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DataError } from './errors.js';
import { EMIDEC_LABELS, MSCMR_LABELS, OUR_LABELS, type LabelMap } from './labels.js';

export const LAYOUTS = ['emidec', 'mscmr', 'png-slices', 'nifti-pairs', 'manifest'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** Where one case's files are: a NIfTI volume, or PNG slices (base→apex) that stack into one. */
export interface CaseEntry {
  readonly id: string;
  readonly format: 'nifti' | 'png-slices';
  /** One NIfTI file, or the slice PNGs in stack order. */
  readonly images: readonly string[];
  /** Same shape as `images`; absent when the case is not annotated. */
  readonly labels?: readonly string[];
}

export interface DiscoveredDataset {
  readonly layout: Layout;
  readonly root: string;
  readonly entries: CaseEntry[];
  /** Files that belong to no case (e.g. a label without image), with the reason. */
  readonly orphans: { file: string; reason: string }[];
}

/** Default label convention per layout; a site overrides with its own map. */
export const DEFAULT_LABEL_MAPS: Record<Layout, LabelMap> = {
  emidec: EMIDEC_LABELS,
  mscmr: MSCMR_LABELS,
  // PNG exports of EMIDEC (like ../shared/data/emidec-lge-slices) keep EMIDEC's 0-4 values.
  'png-slices': EMIDEC_LABELS,
  'nifti-pairs': OUR_LABELS,
  manifest: OUR_LABELS,
};

const NIFTI = /\.nii(\.gz)?$/i;
const stripNifti = (name: string) => name.replace(NIFTI, '');

async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

const MANIFEST_NAMES = ['manifest.csv', 'manifest.json'];
const MSCMR_IMAGE = /^(.+_(?:DE|LGE))\.nii(\.gz)?$/i;
const PAIR_LABEL = /_(gt|label|labels|seg|mask)$/i;

/** Picks the layout from what the folder holds; throws `unknown-layout` listing what was looked for. */
export async function detectLayout(root: string): Promise<Layout> {
  const files = await listFiles(root);
  if (files.some((f) => MANIFEST_NAMES.includes(f.toLowerCase()))) return 'manifest';
  for (const d of await listDirs(root)) {
    const sub = await listDirs(join(root, d));
    if (sub.includes('Images') && sub.includes('Contours')) return 'emidec';
  }
  if (files.some((f) => MSCMR_IMAGE.test(f))) return 'mscmr';
  if ((await listFiles(join(root, 'images'))).some((f) => f.toLowerCase().endsWith('.png'))) return 'png-slices';
  if (files.some((f) => NIFTI.test(f))) return 'nifti-pairs';
  throw new DataError(
    'unknown-layout',
    root,
    'no manifest.csv/json, Case_X/Images+Contours folders, *_DE/_LGE.nii.gz files, images/*.png or *.nii(.gz) files found',
  );
}

export async function discoverDataset(root: string, layout: Layout | 'auto' = 'auto'): Promise<DiscoveredDataset> {
  root = resolve(root);
  try {
    if (!(await stat(root)).isDirectory()) throw new Error('not a folder');
  } catch (err) {
    throw new DataError('not-found', root, `dataset folder is missing (${(err as Error).message})`);
  }
  const chosen = layout === 'auto' ? await detectLayout(root) : layout;
  const found = await DISCOVER[chosen](root);
  return { layout: chosen, root, ...found };
}

type Found = Pick<DiscoveredDataset, 'entries' | 'orphans'>;

const DISCOVER: Record<Layout, (root: string) => Promise<Found>> = {
  /** `Case_X/Images/*.nii.gz` with `Case_X/Contours/*.nii.gz`. */
  async emidec(root) {
    const entries: CaseEntry[] = [];
    const orphans: Found['orphans'] = [];
    for (const id of await listDirs(root)) {
      const images = (await listFiles(join(root, id, 'Images'))).filter((f) => NIFTI.test(f));
      const labels = (await listFiles(join(root, id, 'Contours'))).filter((f) => NIFTI.test(f));
      if (images.length === 0) {
        if (labels.length > 0) orphans.push({ file: join(root, id), reason: 'Contours without Images' });
        continue;
      }
      if (images.length > 1) orphans.push(...images.slice(1).map((f) => ({ file: join(root, id, 'Images', f), reason: `extra image in ${id}/Images; using ${images[0]}` })));
      const image = join(root, id, 'Images', images[0]!);
      const label = labels.find((l) => stripNifti(l) === stripNifti(images[0]!)) ?? labels[0];
      entries.push({ id, format: 'nifti', images: [image], ...(label ? { labels: [join(root, id, 'Contours', label)] } : {}) });
    }
    return { entries, orphans };
  },

  /** `subjectN_DE.nii.gz` (or `_LGE`) with `subjectN_DE_manual.nii.gz`. */
  async mscmr(root) {
    const files = await listFiles(root);
    const entries: CaseEntry[] = [];
    const used = new Set<string>();
    for (const f of files) {
      const m = MSCMR_IMAGE.exec(f);
      if (!m) continue;
      const label = files.find((l) => stripNifti(l) === `${m[1]}_manual`);
      used.add(f);
      if (label) used.add(label);
      entries.push({ id: m[1]!.replace(/_(DE|LGE)$/i, ''), format: 'nifti', images: [join(root, f)], ...(label ? { labels: [join(root, label)] } : {}) });
    }
    const orphans = files.filter((f) => NIFTI.test(f) && !used.has(f)).map((f) => ({ file: join(root, f), reason: 'no matching *_DE/_LGE image' }));
    return { entries, orphans };
  },

  /** `images/<case>_sliceKKK.png` with `labels/<same name>`; cases grouped from the names. */
  async 'png-slices'(root) {
    const images = (await listFiles(join(root, 'images'))).filter((f) => /\.png$/i.test(f));
    const labelNames = new Set((await listFiles(join(root, 'labels'))).filter((f) => /\.png$/i.test(f)));
    const groups = new Map<string, { slice: number; name: string }[]>();
    const orphans: Found['orphans'] = [];
    for (const name of images) {
      const m = /^(.+?)[_-]slice[_-]?(\d+)\.png$/i.exec(name) ?? /^(.+)[_-](\d+)\.png$/i.exec(name);
      if (!m) {
        orphans.push({ file: join(root, 'images', name), reason: 'name has no <case>_sliceNNN.png pattern' });
        continue;
      }
      const list = groups.get(m[1]!) ?? [];
      list.push({ slice: Number(m[2]), name });
      groups.set(m[1]!, list);
    }
    const entries: CaseEntry[] = [];
    for (const [id, slices] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      slices.sort((a, b) => a.slice - b.slice);
      const labelled = slices.every((s) => labelNames.has(s.name));
      if (!labelled && slices.some((s) => labelNames.has(s.name))) {
        orphans.push({ file: join(root, 'labels'), reason: `case ${id} has labels for only some slices; loaded unlabelled` });
      }
      entries.push({
        id,
        format: 'png-slices',
        images: slices.map((s) => join(root, 'images', s.name)),
        ...(labelled ? { labels: slices.map((s) => join(root, 'labels', s.name)) } : {}),
      });
    }
    const imageNames = new Set(images);
    for (const l of labelNames) if (!imageNames.has(l)) orphans.push({ file: join(root, 'labels', l), reason: 'label slice without image' });
    return { entries, orphans };
  },

  /** `X.nii.gz` with `X_gt.nii.gz` (or `_label`, `_seg`, `_mask`) side by side. */
  async 'nifti-pairs'(root) {
    const files = (await listFiles(root)).filter((f) => NIFTI.test(f));
    const entries: CaseEntry[] = [];
    const labels = new Set(files.filter((f) => PAIR_LABEL.test(stripNifti(f))));
    const used = new Set<string>();
    for (const f of files) {
      if (labels.has(f)) continue;
      const base = stripNifti(f);
      const label = files.find((l) => labels.has(l) && stripNifti(l).replace(PAIR_LABEL, '') === base);
      if (label) used.add(label);
      entries.push({ id: base, format: 'nifti', images: [join(root, f)], ...(label ? { labels: [join(root, label)] } : {}) });
    }
    const orphans = [...labels].filter((l) => !used.has(l)).map((l) => ({ file: join(root, l), reason: 'label file without its image' }));
    return { entries, orphans };
  },

  /** `manifest.csv` (header `image,label[,id]`) or `manifest.json` ([{image, label?, id?}]); paths relative to it. */
  async manifest(root) {
    const files = await listFiles(root);
    const name = files.find((f) => MANIFEST_NAMES.includes(f.toLowerCase()));
    if (!name) throw new DataError('bad-manifest', root, 'no manifest.csv or manifest.json in the folder');
    const file = join(root, name);
    const rows = name.toLowerCase().endsWith('.json') ? parseJsonManifest(await readFile(file, 'utf8'), file) : parseCsvManifest(await readFile(file, 'utf8'), file);
    const entries = rows.map((row, i): CaseEntry => {
      const image = resolve(dirname(file), row.image);
      const id = row.id || `${i + 1}-${stripNifti(basename(image)).replace(/\.png$/i, '')}`;
      const format = /\.png$/i.test(image) ? 'png-slices' : 'nifti';
      return { id, format, images: [image], ...(row.label ? { labels: [resolve(dirname(file), row.label)] } : {}) };
    });
    return { entries, orphans: [] };
  },
};

interface ManifestRow {
  image: string;
  label?: string;
  id?: string;
}

function parseCsvManifest(text: string, file: string): ManifestRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim().toLowerCase());
  const col = (n: string) => header.indexOf(n);
  if (col('image') < 0) throw new DataError('bad-manifest', file, `first line must be a header with an 'image' column (got '${header.join(',')}')`);
  return lines.map((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    const image = cells[col('image')];
    if (!image) throw new DataError('bad-manifest', file, `line ${i + 2} has no image path`);
    const label = col('label') >= 0 ? cells[col('label')] : undefined;
    const id = col('id') >= 0 ? cells[col('id')] : undefined;
    return { image, ...(label ? { label } : {}), ...(id ? { id } : {}) };
  });
}

function parseJsonManifest(text: string, file: string): ManifestRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DataError('bad-manifest', file, `invalid JSON (${(err as Error).message})`);
  }
  const rows = Array.isArray(parsed) ? parsed : (parsed as { cases?: unknown })?.cases;
  if (!Array.isArray(rows)) throw new DataError('bad-manifest', file, 'expected an array of {image, label?, id?} (or {cases: [...]})');
  return rows.map((r, i) => {
    const row = r as Partial<Record<keyof ManifestRow, unknown>>;
    if (typeof row?.image !== 'string') throw new DataError('bad-manifest', file, `entry ${i} has no string 'image'`);
    return {
      image: row.image,
      ...(typeof row.label === 'string' ? { label: row.label } : {}),
      ...(typeof row.id === 'string' ? { id: row.id } : {}),
    };
  });
}
