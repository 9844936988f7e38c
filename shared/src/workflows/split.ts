/**
 * Case-level data selection. Slices of one patient are strongly correlated, so every split and
 * subset is drawn over case ids, never over slices, and is seeded so that it can be written down
 * (model card, experiment config) and reproduced.
 */
import { SeededRandom } from '../model/random.js';
import { WorkflowError } from './errors.js';

export interface CaseSplit {
  readonly train: string[];
  readonly validation: string[];
}

/** Ids in a seeded random order; the input order does not matter (ids are sorted first). */
function shuffledIds(ids: readonly string[], seed: number): string[] {
  const sorted = [...new Set(ids)].sort();
  if (sorted.length !== ids.length) throw new WorkflowError('case ids must be unique');
  return new SeededRandom(seed).permutation(sorted.length).map((i) => sorted[i]!);
}

/** Splits case ids into train and validation; both sides sorted. */
export function splitCases(ids: readonly string[], options: { readonly validationFraction: number; readonly seed: number }): CaseSplit {
  const { validationFraction, seed } = options;
  if (!(validationFraction > 0 && validationFraction < 1)) throw new WorkflowError(`validationFraction must be in (0, 1), got ${validationFraction}`);
  if (ids.length < 2) throw new WorkflowError(`a train/validation split needs at least 2 cases, got ${ids.length}`);
  const order = shuffledIds(ids, seed);
  const validationCount = Math.min(ids.length - 1, Math.max(1, Math.round(ids.length * validationFraction)));
  return { validation: order.slice(0, validationCount).sort(), train: order.slice(validationCount).sort() };
}

/** How many of a site's cases to use: a fraction in (0, 1] or an exact count. */
export type CaseSelection = { readonly fraction: number } | { readonly count: number };

/**
 * A seeded subset of cases (at least one). Subsets for growing fractions with the same seed are
 * nested, so "10 % of the data" is always part of "20 %".
 */
export function selectCases<T extends { readonly id: string }>(cases: readonly T[], selection: CaseSelection, seed: number): T[] {
  if (cases.length === 0) throw new WorkflowError('no cases to select from');
  let count: number;
  if ('fraction' in selection) {
    if (!(selection.fraction > 0 && selection.fraction <= 1)) throw new WorkflowError(`fraction must be in (0, 1], got ${selection.fraction}`);
    count = Math.max(1, Math.round(cases.length * selection.fraction));
  } else {
    if (!Number.isInteger(selection.count) || selection.count < 1) throw new WorkflowError(`count must be a positive integer, got ${selection.count}`);
    if (selection.count > cases.length) throw new WorkflowError(`asked for ${selection.count} cases, only ${cases.length} available`);
    count = selection.count;
  }
  const chosen = new Set(shuffledIds(cases.map((c) => c.id), seed).slice(0, count));
  return cases.filter((c) => chosen.has(c.id));
}
