/**
 * The data of one CycleGAN run as Zhu et al. and the study set it up: each cohort split by case into
 * training and held-out validation cases, and the training data balanced 50 / 50, so neither
 * direction sees more images than the other: the larger cohort's training slices are a seeded
 * subset as many as the smaller one's.
 */
import { SeededRandom } from '../model/random.js';
import type { Case } from '../types.js';
import { splitCases } from '../workflows/split.js';
import type { GreyImage } from './patches.js';
import { cycleGanTrainingSlices } from './volumes.js';

export interface CycleGanCohortOptions {
  /** Share of each cohort's cases held out (at least one case each). */
  readonly validationFraction: number;
  readonly seed: number;
  /** In-plane working spacing (mm) of the slices. */
  readonly spacing: readonly [number, number];
  /** Equal numbers of training slices from both cohorts (default true). */
  readonly balance?: boolean;
}

export interface CycleGanCohortSplit {
  readonly train: { readonly site: GreyImage[]; readonly reference: GreyImage[] };
  readonly validation: { readonly site: GreyImage[]; readonly reference: GreyImage[] };
  /** Case ids on each side, for the report. */
  readonly cases: { readonly site: { train: string[]; validation: string[] }; readonly reference: { train: string[]; validation: string[] } };
}

function seededSubset<T>(items: readonly T[], count: number, seed: number): T[] {
  if (count >= items.length) return [...items];
  return new SeededRandom(seed).permutation(items.length).slice(0, count).map((i) => items[i]!);
}

export function splitCycleGanCohorts(site: readonly Case[], reference: readonly Case[], options: CycleGanCohortOptions): CycleGanCohortSplit {
  const split = (cases: readonly Case[], seed: number) => {
    const ids = splitCases(
      cases.map((c) => c.id),
      { validationFraction: options.validationFraction, seed },
    );
    const pick = (wanted: readonly string[]) => cases.filter((c) => wanted.includes(c.id));
    return { ids, train: cycleGanTrainingSlices(pick(ids.train), options.spacing), validation: cycleGanTrainingSlices(pick(ids.validation), options.spacing) };
  };
  const s = split(site, options.seed);
  const r = split(reference, options.seed + 1);
  const balanced = options.balance ?? true;
  const count = Math.min(s.train.length, r.train.length);
  return {
    train: {
      site: balanced ? seededSubset(s.train, count, options.seed + 2) : s.train,
      reference: balanced ? seededSubset(r.train, count, options.seed + 3) : r.train,
    },
    validation: { site: s.validation, reference: r.validation },
    cases: { site: { train: s.ids.train, validation: s.ids.validation }, reference: { train: r.ids.train, validation: r.ids.validation } },
  };
}
