/**
 * The demo's sites: phantom hospitals in the four Table-1 styles (each written in its own layout and
 * label convention), or real data folders the user names. Each gets a site.json that approves the
 * demo's one architecture and splits its cases into a fixed train/test split.
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { architectureHash, resolveArchitecture } from '@lgefed/site-agent/architecture';
import { LGE_PROFILE_NAMES, writePhantomSiteInWorker } from '@lgefed/shared/phantom/index';
import type { DemoSizes } from './sizes.js';

export interface DemoSiteSource {
  readonly name: string;
  /** A phantom profile (emidec, mscmr, vh, stpau) or a folder of the user's own data. */
  readonly phantomProfile?: string;
  readonly dataDir?: string;
}

export interface PreparedSite {
  readonly name: string;
  readonly source: string;
  readonly dir: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly kitFile: string;
}

/** The four phantom LGE sites, named after the profile whose style they have. */
export function phantomSites(): DemoSiteSource[] {
  return LGE_PROFILE_NAMES.map((profile) => ({ name: profile, phantomProfile: profile }));
}

async function nonEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory() && (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}

/**
 * Writes each phantom site's data under `dataRoot` (all sites in parallel worker threads; kept for
 * later runs with the same sizes and seed) and every site's site.json and agent state under `runDir`.
 */
export async function prepareSites(
  paths: { readonly runDir: string; readonly dataRoot: string },
  sources: readonly DemoSiteSource[],
  sizes: DemoSizes,
  seed: number,
  log: (line: string) => void,
): Promise<PreparedSite[]> {
  const approved = architectureHash(resolveArchitecture(sizes.architecture));
  return Promise.all(
    sources.map(async (source, index): Promise<PreparedSite> => {
      const dir = join(paths.runDir, 'sites', source.name);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      let dataDir: string;
      if (source.phantomProfile) {
        const cap = sizes.maxSlicesPerCase ? `-max-${sizes.maxSlicesPerCase}-slices` : '';
        dataDir = join(paths.dataRoot, `${source.name}-${sizes.casesPerSite}-cases${cap}-seed-${seed}`);
        if (await nonEmptyDir(dataDir)) log(`site ${source.name}: reusing phantom data in ${dataDir}`);
        else {
          const written = await writePhantomSiteInWorker({
            profile: source.phantomProfile,
            cases: sizes.casesPerSite,
            seed: seed * 100 + index,
            out: dataDir,
            ...(sizes.maxSlicesPerCase ? { maxSlices: sizes.maxSlicesPerCase } : {}),
          });
          log(`site ${source.name}: ${written.cases.length} phantom ${source.phantomProfile} case(s) written as '${written.layout}'`);
        }
      } else dataDir = resolve(source.dataDir!);
      const configFile = join(dir, 'site.json');
      const config = {
        stateDir: 'state',
        datasets: [{ name: 'lge', path: dataDir, layout: 'auto' }],
        split: { seed, validation: 0, test: sizes.testFraction },
        policy: {
          allowedTaskKinds: ['train', 'evaluate', 'finetune', 'harmonisation-check'],
          // Phantom splits are small; real data keeps the agent's default minimums.
          ...(source.phantomProfile ? { minCasesForMetrics: 1, minCasesForWeights: 1 } : {}),
          approvedArchitectures: [approved],
        },
      };
      await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
      return { name: source.name, source: source.phantomProfile ? `phantom ${source.phantomProfile}` : dataDir, dir, dataDir, configFile, kitFile: join(dir, 'kit.json') };
    }),
  );
}
