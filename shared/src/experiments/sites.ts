/**
 * Sites of an experiment as annotated cases, and the fixed test split every experiment shares.
 * Phantom sites are written to disk in their own vendor layout (off the event loop) and read back
 * through the same loader as real folders, so both kinds travel the same path.
 */
import { join } from 'node:path';
import { loadDataset } from '../imaging/dataset.js';
import type { Layout } from '../imaging/layouts.js';
import { writePhantomSiteInWorker } from '../phantom/run-in-worker.js';
import type { Case } from '../types.js';
import { selectCases } from '../workflows/split.js';
import type { SiteSource } from './config.js';
import { ExperimentError } from './errors.js';

export interface SiteData {
  readonly name: string;
  /** Where the cases were read from (a phantom site's generated folder, or the given folder). */
  readonly folder: string;
  /** Cases never trained on, in every experiment. */
  readonly test: Case[];
  /** Every other annotated case: what training and fine-tuning draw from. */
  readonly pool: Case[];
}

export interface SiteSplit {
  readonly test: string[];
  readonly pool: string[];
}

/** The fixed test split: `testCases` case ids drawn by seed, the same whatever else the config says. */
export function fixedTestSplit<T extends { readonly id: string }>(cases: readonly T[], testCases: number, seed: number, site: string): { test: T[]; pool: T[] } {
  if (cases.length < testCases + 1) {
    throw new ExperimentError(`site ${site} has ${cases.length} annotated case(s); keeping ${testCases} for testing needs at least ${testCases + 1}`);
  }
  const test = selectCases(cases, { count: testCases }, seed);
  const ids = new Set(test.map((c) => c.id));
  return { test, pool: cases.filter((c) => !ids.has(c.id)) };
}

/** Generates (phantom) or reads (folder) one site and splits it. `dataDir` receives phantom sites. */
export async function loadSite(source: SiteSource, options: { readonly dataDir: string; readonly testCases: number; readonly splitSeed: number }): Promise<SiteData> {
  let folder: string;
  let layout: Layout | 'auto';
  if ('phantom' in source) {
    folder = join(options.dataDir, source.name);
    const summary = await writePhantomSiteInWorker({ profile: source.phantom.profile, cases: source.phantom.cases, seed: source.phantom.seed, out: folder });
    layout = summary.layout as Layout;
  } else {
    folder = source.folder;
    layout = source.layout ?? 'auto';
  }
  const dataset = await loadDataset(folder, { layout });
  const annotated = dataset.cases.filter((c) => c.label);
  if (annotated.length === 0) {
    const reasons = dataset.problems.slice(0, 3).map((p) => p.message).join('; ');
    throw new ExperimentError(`site ${source.name} (${folder}) has no annotated cases${reasons ? `: ${reasons}` : ''}`);
  }
  const { test, pool } = fixedTestSplit(annotated, options.testCases, options.splitSeed, source.name);
  return { name: source.name, folder, test, pool };
}

export function splitOf(site: SiteData): SiteSplit {
  return { test: site.test.map((c) => c.id), pool: site.pool.map((c) => c.id) };
}
