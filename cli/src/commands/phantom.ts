import { parseArgs } from 'node:util';
import { PROFILE_NAMES, PROFILES, writePhantomSiteInWorker } from '@lgefed/shared/phantom/index';
import { UsageError, type Command } from '../command.js';

/** `lgefed phantom`: a seeded multi-vendor LGE site written in that site's own layout. */
export const phantom: Command = {
  name: 'phantom',
  summary: 'generate a synthetic multi-vendor LGE site (seeded) in its own layout',
  usage: [
    'Usage: lgefed phantom --profile P --cases N --out DIR [--seed S] [--gallery] [--max-slices N]',
    '',
    'Profiles (the study\'s Table 1):',
    ...PROFILE_NAMES.map((n) => `  ${n.padEnd(7)} ${PROFILES[n]!.description}`),
    '',
    'Writes N short-axis LGE studies (base→apex) with labels in the site\'s convention; the same seed',
    'gives the same files. --gallery also writes DIR/gallery-P.png (mid slices with label overlay).',
    '--max-slices N thins longer stacks to N slices over the same base-to-apex extent (quick runs).',
  ].join('\n'),
  async run(args) {
    let values: { profile?: string; cases?: string; out?: string; seed?: string; gallery?: boolean; 'max-slices'?: string };
    try {
      ({ values } = parseArgs({
        args,
        options: { profile: { type: 'string' }, cases: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, gallery: { type: 'boolean' }, 'max-slices': { type: 'string' } },
        strict: true,
      }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!values.profile || !PROFILES[values.profile]) throw new UsageError(`--profile must be one of ${PROFILE_NAMES.join(', ')}`);
    if (!values.out) throw new UsageError('--out DIR is required');
    const cases = Number(values.cases ?? '10');
    const seed = Number(values.seed ?? '1');
    if (!Number.isInteger(cases) || cases < 1) throw new UsageError(`--cases must be a positive integer (got '${values.cases}')`);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer (got '${values.seed}')`);
    const maxSlices = values['max-slices'] === undefined ? undefined : Number(values['max-slices']);
    if (maxSlices !== undefined && !(Number.isInteger(maxSlices) && maxSlices >= 2)) throw new UsageError(`--max-slices must be an integer ≥ 2 (got '${values['max-slices']}')`);
    const started = Date.now();
    const summary = await writePhantomSiteInWorker({ profile: values.profile, cases, seed, out: values.out, gallery: values.gallery ?? false, ...(maxSlices !== undefined ? { maxSlices } : {}) });
    const infarcted = summary.cases.filter((c) => c.infarct).length;
    console.log(
      `${summary.cases.length} ${summary.profile} case(s) (${infarcted} with infarct) written to ${summary.out} as '${summary.layout}' in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    if (summary.gallery) console.log(`gallery   ${summary.gallery}`);
    return 0;
  },
};
