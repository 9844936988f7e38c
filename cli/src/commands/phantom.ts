import { PROFILE_NAMES, PROFILES, writePhantomSiteInWorker } from '@lgefed/shared/phantom/index';
import { UsageError, type Command } from '../command.js';
import { integer, parseFlags, positiveInteger, required } from '../flags.js';

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
    const values = parseFlags(args, { profile: { type: 'string' }, cases: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, gallery: { type: 'boolean' }, 'max-slices': { type: 'string' } });
    if (!values.profile || !PROFILES[values.profile]) throw new UsageError(`--profile must be one of ${PROFILE_NAMES.join(', ')}`);
    const out = required(values.out, '--out DIR');
    const cases = positiveInteger(values.cases, '--cases') ?? 10;
    const seed = integer(values.seed, '--seed') ?? 1;
    const maxSlices = positiveInteger(values['max-slices'], '--max-slices');
    if (maxSlices === 1) throw new UsageError('--max-slices must be at least 2');
    const started = Date.now();
    const summary = await writePhantomSiteInWorker({ profile: values.profile, cases, seed, out, gallery: values.gallery ?? false, ...(maxSlices !== undefined ? { maxSlices } : {}) });
    const infarcted = summary.cases.filter((c) => c.infarct).length;
    console.log(
      `${summary.cases.length} ${summary.profile} case(s) (${infarcted} with infarct) written to ${summary.out} as '${summary.layout}' in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    if (summary.gallery) console.log(`gallery   ${summary.gallery}`);
    return 0;
  },
};
