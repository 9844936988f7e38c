import { Label, type Case } from '../types.js';
import { paintSlice, sampleAnatomy, Tissue, type Anatomy } from './anatomy.js';
import { renderImage, sampleAcquisition } from './appearance.js';
import type { PhantomProfile } from './profiles.js';
import { Random } from './random.js';

/** One synthetic study: image and our labels (a Case), plus the tissue map every site label derives from. */
export interface PhantomCase extends Case {
  readonly tissues: Uint8Array;
  readonly anatomy: Anatomy;
}

/** Cavity tissues: annotators draw the endocardium outside papillary muscles and trabeculation. */
export function isCavity(tissue: number): boolean {
  return tissue === Tissue.lvBlood || tissue === Tissue.papillary || tissue === Tissue.trabeculae;
}

/** Our labels from tissues: scar and no-reflow are myocardium for LV anatomy; papillary muscles and trabeculae are cavity. */
export function ourLabel(tissue: number): number {
  if (isCavity(tissue)) return Label.bloodpool;
  if (tissue === Tissue.lvMyocardium || tissue === Tissue.scar || tissue === Tissue.noReflow) return Label.myocardium;
  return Label.background;
}

export function phantomCaseId(profile: PhantomProfile, index: number, infarcted: boolean): string {
  const n = String(index + 1).padStart(3, '0');
  if (profile.layout === 'emidec') return `Case_${infarcted ? 'P' : 'N'}${n}`;
  if (profile.layout === 'mscmr') return `subject${index + 1}`;
  return `${profile.name}_${n}`;
}

export interface PhantomCaseOptions {
  /**
   * At most this many slices: a longer stack keeps its base-to-apex extent with fewer, thicker-spaced
   * slices (for quick runs; the anatomy and appearance stay those of the seed).
   */
  readonly maxSlices?: number;
}

/** Generates case `index` of a profile; the same (profile, seed, index, options) always gives the same case. */
export function generatePhantomCase(profile: PhantomProfile, seed: number, index: number, options: PhantomCaseOptions = {}): PhantomCase {
  const maxSlices = options.maxSlices ?? Infinity;
  if (!(maxSlices >= 2)) throw new RangeError(`maxSlices must be at least 2, got ${options.maxSlices}`);
  const rng = new Random(seed, `${profile.name}#${index}`);
  const pixel = rng.uniform(...profile.spacing);
  const fov = rng.uniform(...profile.fovMm);
  const width = Math.round(fov / pixel);
  const height = Math.round((fov * rng.uniform(...profile.phaseFov)) / pixel);
  const acquiredDz = rng.pick(profile.sliceSpacing);
  const acquiredDepth = rng.int(...profile.slices);
  const anatomy = sampleAnatomy(rng, [width * pixel, height * pixel], profile.infarctRate, profile.noReflowRate);
  const acquisition = sampleAcquisition(rng, profile.appearance);
  // Place the stack over the LV: long stacks also catch the atria above and the abdomen below.
  const extent = (acquiredDepth - 1) * acquiredDz;
  const depth = Math.min(acquiredDepth, Math.floor(maxSlices));
  const dz = depth === acquiredDepth ? acquiredDz : extent / (depth - 1);
  const spare = Math.max(0, extent - anatomy.length * 0.9);
  const start = rng.uniform(0.02, 0.08) * anatomy.length - spare * rng.uniform(0.2, 0.5);
  const plane = width * height;
  const tissues = new Uint8Array(plane * depth);
  const image = new Float32Array(plane * depth);
  const label = new Uint8Array(plane * depth);
  for (let k = 0; k < depth; k++) {
    const t = (start + k * dz) / anatomy.length;
    const slice = paintSlice(anatomy, t, width, height, [pixel, pixel]);
    tissues.set(slice, k * plane);
    image.set(renderImage(slice, width, height, [pixel, pixel], acquisition, rng), k * plane);
  }
  for (let i = 0; i < tissues.length; i++) label[i] = ourLabel(tissues[i]!);
  const spacing = [pixel, pixel, dz] as const;
  const dims = [width, height, depth] as const;
  return {
    id: phantomCaseId(profile, index, anatomy.infarct !== undefined),
    source: `phantom:${profile.name}:seed${seed}:case${index}`,
    image: { data: image, dims, spacing },
    label: { data: label, dims, spacing },
    tissues,
    anatomy,
  };
}
