import type { DatasetSummary } from '@lgefed/protocol';
import { loadDataset } from '@lgefed/shared/imaging/dataset';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assignCases, splitWarnings, type SplitName, type SplitSettings } from './case-split.js';
import type { DatasetConfig, SiteConfig } from './config.js';
import { AgentError } from './errors.js';

export type { SplitName } from './case-split.js';

export interface RegisteredDataset {
  readonly config: DatasetConfig;
  readonly summary: DatasetSummary;
  /** Labelled case ids per split; fixed for the life of the site (persisted). */
  readonly split: Readonly<Record<SplitName, readonly string[]>>;
  /** Files that could not be used, with the reason, as the loaders reported them. */
  readonly problems: readonly string[];
  /** What the split leaves this site unable to do (empty roles, roles below the policy's minimums). */
  readonly warnings: readonly string[];
}

/** A split file: the settings it was made with and each labelled case's role. */
interface StoredSplit {
  readonly seed: number;
  /** Absent in files written before splits were by count: such a split is kept as it is. */
  readonly validation?: number;
  readonly test?: number;
  readonly cases: Record<string, SplitName>;
}

const splitFile = (config: SiteConfig, dataset: string) => join(config.stateDir, `split-${dataset}.json`);

async function readSplit(file: string): Promise<StoredSplit | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StoredSplit;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AgentError('dataset_invalid', `${file}: ${(err as Error).message}`);
  }
}

/** A changed `split` in site.json would move cases between roles (a trained-on case into test): refused, with the way to do it on purpose. */
function checkUnchanged(stored: StoredSplit, split: SplitSettings, file: string, dataset: string): void {
  const changed = stored.seed !== split.seed || (stored.validation !== undefined && stored.validation !== split.validation) || (stored.test !== undefined && stored.test !== split.test);
  if (!changed) return;
  const was = `seed ${stored.seed}${stored.validation === undefined ? '' : `, validation ${stored.validation}, test ${stored.test}`}`;
  throw new AgentError(
    'split_changed',
    `dataset ${dataset}: site.json asks for split seed ${split.seed}, validation ${split.validation}, test ${split.test}, but the split fixed in ${file} was made with ${was}. ` +
      'Cases do not move silently (a case trained on must not become a test case). Put the old values back, or re-split on purpose with: lgefed site resplit --config <site.json> (results from before are then not comparable)',
  );
}

async function writeSplit(file: string, split: SplitSettings, cases: Record<string, SplitName>): Promise<void> {
  const temp = `${file}.tmp`;
  await writeFile(temp, `${JSON.stringify({ seed: split.seed, validation: split.validation, test: split.test, cases }, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, file);
}

/** Forgets every dataset's fixed split (the site admin's `lgefed site resplit`); the next registration makes new ones. */
export async function forgetSplits(config: SiteConfig): Promise<void> {
  for (const d of config.datasets) await rm(splitFile(config, d.name), { force: true });
}

/**
 * Loads every configured dataset once at start (through the shared layout loaders), so a broken
 * folder stops the agent with the loaders' reasons instead of failing a task later, and fixes the
 * train/validation/test split: read from `split-<name>.json` in the state dir when present, with
 * new cases assigned by count (case-split.ts).
 */
export async function registerDatasets(config: SiteConfig): Promise<RegisteredDataset[]> {
  const out: RegisteredDataset[] = [];
  for (const d of config.datasets) {
    let loaded;
    try {
      loaded = await loadDataset(d.path, { layout: d.layout, ...(d.maxDecodedBytes !== undefined ? { maxDecodedBytes: d.maxDecodedBytes } : {}) });
    } catch (err) {
      throw new AgentError('dataset_invalid', `dataset ${d.name}: ${(err as Error).message}`);
    }
    if (loaded.cases.length === 0) throw new AgentError('dataset_invalid', `dataset ${d.name} (${d.path}) has no usable case: ${loaded.problems.map((p) => p.message).join('; ') || 'empty'}`);
    const labelled = loaded.cases.filter((c) => c.label !== undefined);
    const file = splitFile(config, d.name);
    const stored = await readSplit(file);
    if (stored) checkUnchanged(stored, config.split, file, d.name);
    const assignment = assignCases(
      labelled.map((c) => c.id),
      stored?.cases ?? {},
      config.split,
    );
    if (!stored || Object.keys(assignment).length !== Object.keys(stored.cases).length || stored.test === undefined) await writeSplit(file, config.split, assignment);
    const present = new Set(labelled.map((c) => c.id));
    const ids = (name: SplitName) => Object.entries(assignment).filter(([id, s]) => s === name && present.has(id)).map(([id]) => id).sort();
    const split = { train: ids('train'), validation: ids('validation'), test: ids('test') };
    out.push({
      config: d,
      summary: {
        name: d.name,
        caseCount: loaded.cases.length,
        labelledCaseCount: labelled.length,
        sliceCount: loaded.cases.reduce((n, c) => n + c.image.dims[2], 0),
        labelledSliceCount: labelled.reduce((n, c) => n + c.image.dims[2], 0),
      },
      split,
      problems: loaded.problems.map((p) => p.message),
      warnings: splitWarnings(d.name, { train: split.train.length, validation: split.validation.length, test: split.test.length }, config.policy),
    });
  }
  return out;
}
