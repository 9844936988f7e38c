import type { DatasetSummary } from '@lgefed/protocol';
import { loadDataset } from '@lgefed/shared/imaging/dataset';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetConfig, SiteConfig } from './config.js';
import { AgentError } from './errors.js';

export type SplitName = 'train' | 'validation' | 'test';

export interface RegisteredDataset {
  readonly config: DatasetConfig;
  readonly summary: DatasetSummary;
  /** Labelled case ids per split; fixed for the life of the site (persisted). */
  readonly split: Readonly<Record<SplitName, readonly string[]>>;
  /** Files that could not be used, with the reason, as the loaders reported them. */
  readonly problems: readonly string[];
}

/** Where a case falls: a seeded hash of its id, so adding cases never moves existing ones. */
function splitOf(caseId: string, split: SiteConfig['split']): SplitName {
  const u = createHash('sha256').update(`${split.seed}\u0000${caseId}`).digest().readUInt32BE(0) / 2 ** 32;
  return u < split.test ? 'test' : u < split.test + split.validation ? 'validation' : 'train';
}

/**
 * Loads every configured dataset once at start (through the shared layout loaders), so a broken
 * folder stops the agent with the loaders' reasons instead of failing a task later, and fixes the
 * train/validation/test split: read from `split-<name>.json` in the state dir when present, with
 * new cases assigned by the seeded hash.
 */
export async function registerDatasets(config: SiteConfig): Promise<RegisteredDataset[]> {
  const out: RegisteredDataset[] = [];
  for (const d of config.datasets) {
    let loaded;
    try {
      loaded = await loadDataset(d.path, { layout: d.layout });
    } catch (err) {
      throw new AgentError('dataset_invalid', `dataset ${d.name}: ${(err as Error).message}`);
    }
    if (loaded.cases.length === 0) throw new AgentError('dataset_invalid', `dataset ${d.name} (${d.path}) has no usable case: ${loaded.problems.map((p) => p.message).join('; ') || 'empty'}`);
    const labelled = loaded.cases.filter((c) => c.label !== undefined);
    const file = join(config.stateDir, `split-${d.name}.json`);
    let stored: Record<string, SplitName> = {};
    try {
      stored = (JSON.parse(await readFile(file, 'utf8')) as { cases: Record<string, SplitName> }).cases;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new AgentError('dataset_invalid', `${file}: ${(err as Error).message}`);
    }
    const assignment: Record<string, SplitName> = { ...stored };
    for (const c of labelled) assignment[c.id] ??= splitOf(c.id, config.split);
    if (Object.keys(assignment).length !== Object.keys(stored).length) {
      await writeFile(file, `${JSON.stringify({ seed: config.split.seed, cases: assignment }, null, 2)}\n`, { mode: 0o600 });
    }
    const present = new Set(labelled.map((c) => c.id));
    const ids = (name: SplitName) => Object.entries(assignment).filter(([id, s]) => s === name && present.has(id)).map(([id]) => id).sort();
    out.push({
      config: d,
      summary: {
        name: d.name,
        caseCount: loaded.cases.length,
        labelledCaseCount: labelled.length,
        sliceCount: loaded.cases.reduce((n, c) => n + c.image.dims[2], 0),
        labelledSliceCount: labelled.reduce((n, c) => n + c.image.dims[2], 0),
      },
      split: { train: ids('train'), validation: ids('validation'), test: ids('test') },
      problems: loaded.problems.map((p) => p.message),
    });
  }
  return out;
}
