import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Affine } from '../imaging/affine.js';
import { DataError } from '../imaging/errors.js';
import { writeNifti } from '../imaging/nifti-write.js';
import { writePng } from '../imaging/png.js';
import { Tissue } from './anatomy.js';
import { generatePhantomCase, isCavity, type PhantomCase } from './generate.js';
import { renderGallery } from './gallery.js';
import { PROFILES, type PhantomProfile } from './profiles.js';

export interface PhantomSiteOptions {
  readonly profile: string;
  readonly cases: number;
  readonly seed: number;
  readonly out: string;
  /** Also write `gallery-<profile>.png` next to the data (up to 6 cases). */
  readonly gallery?: boolean;
  /** Cap on slices per case (see PhantomCaseOptions.maxSlices); absent = the profile's own stacks. */
  readonly maxSlices?: number;
}

export interface PhantomSiteSummary {
  readonly profile: string;
  readonly layout: string;
  readonly out: string;
  readonly cases: { id: string; dims: readonly number[]; spacing: readonly number[]; infarct: string | null }[];
  readonly gallery?: string;
}

export function phantomProfile(name: string): PhantomProfile {
  const profile = PROFILES[name];
  if (!profile) throw new DataError('bad-input', name, `unknown phantom profile; choose one of ${Object.keys(PROFILES).join(', ')}`);
  return profile;
}

/** The site's own label value for a tissue, in its layout's convention. */
function siteLabel(profile: PhantomProfile, tissue: number): number {
  const lv = isCavity(tissue);
  const myo = tissue === Tissue.lvMyocardium;
  if (profile.layout === 'mscmr') return lv ? 500 : myo || tissue === Tissue.scar || tissue === Tissue.noReflow ? 200 : tissue === Tissue.rvBlood ? 600 : 0;
  if (profile.layout === 'manifest') return lv ? 1 : myo || tissue === Tissue.scar || tissue === Tissue.noReflow ? 2 : 0;
  // EMIDEC convention (NIfTI folders and the PNG export): 3 infarct, 4 no-reflow.
  return lv ? 1 : myo ? 2 : tissue === Tissue.scar ? 3 : tissue === Tissue.noReflow ? 4 : 0;
}

/** Columns toward the patient's left (+X), rows toward posterior (−Y): what the reader calls consistent. */
function displayAffine(c: PhantomCase): Affine {
  const [sx, sy, sz] = c.image.spacing;
  const h = c.image.dims[1];
  return [
    [sx, 0, 0, -100],
    [0, -sy, 0, (h - 1) * sy - 120],
    [0, 0, sz, 0],
    [0, 0, 0, 1],
  ];
}

/** Philips-style storage: the array transposed (rows first), with the affine that says so. */
function transposed<T extends Int16Array | Float32Array>(data: T, dims: readonly [number, number, number]): T {
  const [w, h, d] = dims;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let k = 0; k < d; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[k * w * h + x * h + y] = data[k * w * h + y * w + x]!;
  return out;
}

function transposedAffine(a: Affine): Affine {
  return a.map((row) => [row[1]!, row[0]!, row[2]!, row[3]!]);
}

/** Fixed scanner scaling so intensities are comparable across a site's cases, as on a real scanner. */
function toInt16(img: Float32Array, max: number, slope = 1): Int16Array {
  const out = new Int16Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = Math.max(0, Math.min(32767, Math.round((img[i]! * max) / 1.3 / slope)));
  return out;
}

async function writeCase(profile: PhantomProfile, c: PhantomCase, out: string): Promise<void> {
  const labels = new Float32Array(c.tissues.length);
  for (let i = 0; i < labels.length; i++) labels[i] = siteLabel(profile, c.tissues[i]!);
  const dims = c.image.dims;
  const affine = displayAffine(c);
  const storage = profile.storage;
  switch (profile.layout) {
    case 'emidec': {
      if (storage.kind !== 'int16') throw new Error('emidec profile stores int16');
      await mkdir(join(out, c.id, 'Images'), { recursive: true });
      await mkdir(join(out, c.id, 'Contours'), { recursive: true });
      await writeNifti(join(out, c.id, 'Images', `${c.id}.nii.gz`), { data: toInt16(c.image.data, storage.max), dims, affine });
      await writeNifti(join(out, c.id, 'Contours', `${c.id}.nii.gz`), { data: Uint8Array.from(labels), dims, affine });
      return;
    }
    case 'mscmr': {
      if (storage.kind !== 'int16-scaled') throw new Error('mscmr profile stores scaled int16');
      const tDims = [dims[1], dims[0], dims[2]] as const;
      const scale = { slope: storage.slope, inter: 0 };
      await writeNifti(join(out, `${c.id}_DE.nii.gz`), { data: transposed(toInt16(c.image.data, storage.max, storage.slope), dims), dims: tDims, affine: transposedAffine(affine), scale });
      await writeNifti(join(out, `${c.id}_DE_manual.nii.gz`), { data: transposed(Int16Array.from(labels), dims), dims: tDims, affine: transposedAffine(affine) });
      return;
    }
    case 'png-slices': {
      await mkdir(join(out, 'images'), { recursive: true });
      await mkdir(join(out, 'labels'), { recursive: true });
      const [w, h, d] = dims;
      const sorted = Float32Array.from(c.image.data).sort();
      const top = sorted[Math.floor(sorted.length * 0.995)]! || 1;
      for (let k = 0; k < d; k++) {
        const name = `${c.id}_slice${String(k).padStart(3, '0')}.png`;
        const grey = new Uint8Array(w * h);
        const lab = new Uint8Array(w * h);
        for (let i = 0; i < w * h; i++) {
          grey[i] = Math.min(255, Math.round((c.image.data[k * w * h + i]! / top) * 255));
          lab[i] = labels[k * w * h + i]!;
        }
        await writePng(join(out, 'images', name), grey, w, h, 1);
        await writePng(join(out, 'labels', name), lab, w, h, 1);
      }
      return;
    }
    case 'manifest': {
      await mkdir(join(out, 'images'), { recursive: true });
      await mkdir(join(out, 'labels'), { recursive: true });
      await writeNifti(join(out, 'images', `${c.id}.nii.gz`), { data: c.image.data, dims, affine });
      await writeNifti(join(out, 'labels', `${c.id}_seg.nii.gz`), { data: Uint8Array.from(labels), dims, affine });
      return;
    }
    default:
      throw new Error(`no phantom writer for layout ${profile.layout}`);
  }
}

/** Generates `cases` studies of a profile and writes them in that site's own layout and label convention. */
export async function writePhantomSite(options: PhantomSiteOptions): Promise<PhantomSiteSummary> {
  const profile = phantomProfile(options.profile);
  if (!Number.isInteger(options.cases) || options.cases < 1) throw new DataError('bad-input', options.out, `--cases must be a positive integer (got ${options.cases})`);
  if (options.maxSlices !== undefined && !(Number.isInteger(options.maxSlices) && options.maxSlices >= 2)) {
    throw new DataError('bad-input', options.out, `--max-slices must be an integer ≥ 2 (got ${options.maxSlices})`);
  }
  await mkdir(options.out, { recursive: true });
  const summary: PhantomSiteSummary['cases'] = [];
  const galleryCases: PhantomCase[] = [];
  const spacing: Record<string, readonly number[]> = {};
  for (let i = 0; i < options.cases; i++) {
    const c = generatePhantomCase(profile, options.seed, i, options.maxSlices === undefined ? {} : { maxSlices: options.maxSlices });
    await writeCase(profile, c, options.out);
    spacing[c.id] = c.image.spacing;
    summary.push({ id: c.id, dims: c.image.dims, spacing: c.image.spacing, infarct: c.anatomy.infarct?.territory ?? null });
    if (options.gallery && galleryCases.length < 6) galleryCases.push(c);
  }
  if (profile.layout === 'png-slices') await writeFile(join(options.out, 'spacing.json'), JSON.stringify(spacing, null, 1));
  if (profile.layout === 'manifest') {
    const rows = summary.map((c) => `${c.id},images/${c.id}.nii.gz,labels/${c.id}_seg.nii.gz`);
    await writeFile(join(options.out, 'manifest.csv'), ['id,image,label', ...rows, ''].join('\n'));
  }
  let gallery: string | undefined;
  if (options.gallery) {
    gallery = join(options.out, `gallery-${profile.name}.png`);
    const g = renderGallery(galleryCases);
    await writePng(gallery, g.pixels, g.width, g.height, 3);
  }
  return { profile: profile.name, layout: profile.layout, out: options.out, cases: summary, ...(gallery ? { gallery } : {}) };
}
