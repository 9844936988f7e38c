/**
 * How a site's labelled cases are divided into train / validation / test: by count, so a small site
 * gets the sizes its fractions ask for (3 cases at test 0.2 → 1 test, 2 train) instead of whatever a
 * per-case coin gives, with at least one training case, and at least one test case whenever there
 * are two or more cases and the test fraction is positive.
 */
import { createHash } from 'node:crypto';
import type { LocalPolicy } from './config.js';

export type SplitName = 'train' | 'validation' | 'test';
export type SplitSettings = { readonly seed: number; readonly validation: number; readonly test: number };

export function splitCounts(cases: number, split: SplitSettings): Record<SplitName, number> {
  let test = Math.round(cases * split.test);
  let validation = Math.round(cases * split.validation);
  if (split.test > 0 && test === 0 && cases >= 2) test = 1;
  // At least one case to train on: validation gives way first, then test.
  while (cases - test - validation < 1 && validation > 0) validation--;
  while (cases - test - validation < 1 && test > 0) test--;
  return { train: cases - test - validation, validation, test };
}

/** A case's seeded place in line: the same for the life of the seed, whatever other cases exist. */
function rank(caseId: string, seed: number): number {
  return createHash('sha256').update(`${seed}\u0000${caseId}`).digest().readUInt32BE(0);
}

const ORDER: readonly SplitName[] = ['test', 'validation', 'train'];

/**
 * Gives every case not in `fixed` the role furthest below its target count, in seeded order;
 * cases already assigned never move (a case trained on must never become a test case).
 */
export function assignCases(caseIds: readonly string[], fixed: Readonly<Record<string, SplitName>>, split: SplitSettings): Record<string, SplitName> {
  const targets = splitCounts(caseIds.length, split);
  const counts: Record<SplitName, number> = { train: 0, validation: 0, test: 0 };
  const out: Record<string, SplitName> = { ...fixed };
  for (const id of caseIds) if (fixed[id]) counts[fixed[id]]++;
  const fresh = caseIds.filter((id) => !fixed[id]).sort((a, b) => rank(a, split.seed) - rank(b, split.seed) || (a < b ? -1 : 1));
  for (const id of fresh) {
    const role = ORDER.reduce((best, r) => (targets[r] - counts[r] > targets[best] - counts[best] ? r : best));
    out[id] = role;
    counts[role]++;
  }
  return out;
}

/** What a split leaves this site unable to do, said at start (empty roles, roles below the policy's minimums). */
export function splitWarnings(dataset: string, sizes: Record<SplitName, number>, policy: LocalPolicy): string[] {
  const warnings: string[] = [];
  if (sizes.train === 0) warnings.push(`dataset ${dataset}: no training case: train and fine-tune tasks have nothing to learn from`);
  else if (sizes.train < policy.minCasesForWeights) warnings.push(`dataset ${dataset}: ${sizes.train} training case(s), below policy.minCasesForWeights ${policy.minCasesForWeights}: trained weights will not leave`);
  if (sizes.test === 0) warnings.push(`dataset ${dataset}: no test case: evaluations have nothing to score`);
  else if (sizes.test < policy.minCasesForMetrics) warnings.push(`dataset ${dataset}: ${sizes.test} test case(s), below policy.minCasesForMetrics ${policy.minCasesForMetrics}: test metrics will be withheld`);
  return warnings;
}
