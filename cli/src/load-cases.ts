/** Loads a dataset folder for a command: problem files are warned about, an empty result is a usage error. */
import { loadDataset, type Layout } from '@lgefed/shared/imaging/index';
import type { Case } from '@lgefed/shared/types';
import { UsageError } from './command.js';

export async function loadCases(dir: string, layout: Layout | 'auto'): Promise<Case[]> {
  const dataset = await loadDataset(dir, { layout });
  for (const problem of dataset.problems) console.error(`warning: ${problem.message}`);
  if (dataset.cases.length === 0) throw new UsageError(`no usable cases in ${dir}`);
  return dataset.cases;
}
