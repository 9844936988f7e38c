/** `lgefed demo` flags, checked into typed options (bad input is a UsageError with the reason). */
import { parseArgs } from 'node:util';
import { PRETRAINED_MODEL_DIR } from '@lgefed/shared/workflows/pretrained';
import { UsageError } from '../command.js';
import { phantomSites, type DemoSiteSource } from './sites.js';

export interface DemoOptions {
  readonly quick: boolean;
  readonly chaos: boolean;
  readonly summaryFile: string | null;
  /** Where state, data and the report go; null: a new folder under the system temp dir. */
  readonly workdir: string | null;
  readonly sites: readonly DemoSiteSource[];
  readonly pretrainedDir: string;
  /** Open the console in the desktop's browser. */
  readonly open: boolean;
  readonly seed: number;
  readonly port: number;
  /** End when the study ends instead of keeping the console up until Ctrl-C (scripts, CI). */
  readonly exit: boolean;
}

export const DEMO_USAGE = `Usage: lgefed demo [--quick] [--chaos] [--summary FILE] [--workdir DIR] [--site NAME=DIR ...]
                  [--pretrained MODEL_DIR] [--seed 1] [--port 0] [--no-open] [--exit]

Runs the study as a federation on this machine: a coordinator and one agent per site as separate
processes on 127.0.0.1, the EMIDEC-pretrained model at the coordinator, four phantom sites in the
study's Table-1 styles (emidec, mscmr, vh, stpau). Jobs: harmonisation check, fine-tuning of the
pretrained model on 10 % and 100 % of each site's cases vs training from scratch, FedAvg with
progressive inclusion, cross-site evaluation of the pretrained, single-centre and federated models.
Ends with a summary table and the HTML report path, then keeps the console up with the results
until Ctrl-C and says how to open it again later on the kept state.

  --quick          small sizes (under 3 min on 2 cores); the default sizes take about 10 min
  --chaos          instead of the study, run fault drills: a site killed mid-round, the coordinator
                   killed and restarted mid-job and again mid-evaluation, a site frozen past its
                   deadline, a tampered message, a connection cut during a model transfer; each
                   checked for lost or double results
  --summary FILE   also write the summary as JSON
  --workdir DIR    keep state, phantom data (reused by later runs) and the report here
  --site NAME=DIR  use your own data folder (any layout \`lgefed data check\` reads) as site NAME;
                   repeat for each site (at least 2); replaces the phantom sites
  --pretrained DIR the model to start from (default: the shipped EMIDEC model)
  --no-open        do not open the console in a browser
  --exit           end when the study ends (scripts, CI) instead of keeping the console up`;

export function parseDemoArgs(args: readonly string[]): DemoOptions {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        chaos: { type: 'boolean' },
        summary: { type: 'string' },
        workdir: { type: 'string' },
        site: { type: 'string', multiple: true },
        pretrained: { type: 'string' },
        seed: { type: 'string' },
        port: { type: 'string' },
        'no-open': { type: 'boolean' },
        exit: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const seed = Number(values['seed'] ?? 1);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError('--seed must be a non-negative integer');
  const port = Number(values['port'] ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0-65535');
  const siteArgs = (values['site'] as string[] | undefined) ?? [];
  const sites = siteArgs.map((arg): DemoSiteSource => {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62})=(.+)$/.exec(arg);
    if (!m) throw new UsageError(`--site takes NAME=DIR (NAME: letters, digits, . _ -), got '${arg}'`);
    return { name: m[1]!, dataDir: m[2]! };
  });
  if (sites.length === 1) throw new UsageError('a federation needs at least 2 sites: give --site twice or more');
  if (new Set(sites.map((s) => s.name)).size !== sites.length) throw new UsageError('--site names must be unique');
  return {
    quick: values['quick'] === true,
    chaos: values['chaos'] === true,
    summaryFile: typeof values['summary'] === 'string' ? values['summary'] : null,
    workdir: typeof values['workdir'] === 'string' ? values['workdir'] : null,
    sites: sites.length > 0 ? sites : phantomSites(),
    pretrainedDir: typeof values['pretrained'] === 'string' ? values['pretrained'] : PRETRAINED_MODEL_DIR,
    open: values['no-open'] !== true,
    seed,
    port,
    exit: values['exit'] === true,
  };
}
