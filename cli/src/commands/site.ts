import { SiteAgent } from '@lgefed/site-agent/agent';
import { architectureHash, resolveArchitecture } from '@lgefed/site-agent/architecture';
import { loadSiteConfig } from '@lgefed/site-agent/config';
import { forgetSplits, registerDatasets } from '@lgefed/site-agent/datasets';
import { loadStartupKitIfPresent } from '@lgefed/site-agent/kit';
import { UsageError, type Command } from '../command.js';
import { parseFlags, parseFlagsAndPositionals } from '../flags.js';

export const siteStart: Command = {
  name: 'site start',
  summary: 'run the site agent: enrol once, connect to the coordinator, run admitted tasks',
  usage: `Usage: lgefed site start --config site.json [--kit kit.json] [--capture FILE]

The kit comes from \`lgefed coordinator enroll\` and is needed only for the first start, which
enrols the site; later starts use the identity kept in stateDir (a --kit naming a deleted file is
fine). site.json (owned by the site admin):
  { "stateDir": "state", "datasets": [{ "name": "lge", "path": "data", "layout": "auto" }],
    "split": { "seed": 0, "validation": 0.2, "test": 0.2 },
    "policy": { "allowedTaskKinds": ["train", "evaluate", "finetune", "harmonisation-check"], "weightsMayLeave": true, "minCasesForWeights": 3,
                "metrics": "aggregate", "aggregateStatistics": ["n", "mean", "sd"], "minCasesForMetrics": 5,
                "maxHistogramEpsilon": 1, "privacyBudgetEpsilon": 3,
                "pinArchitectures": true, "approvedArchitectures": ["<lgefed site arch-hash NAME>"] } }
"backend" is optional (default: the fastest engine that loads; "cpu" is the slowest, for tests).
The split is by count (at least one training case), stated at start and then fixed per dataset;
after changing "split", run \`lgefed site resplit\`. The agent makes its key in stateDir on first
start (never sent), keeps a ledger of the ε it spent on histograms (stateDir/privacy-ledger.json)
and an append-only log of every outbound message (stateDir/audit.jsonl). --capture also writes
every packet it sends to FILE.`,
  async run(args) {
    const o = parseFlags(args, { kit: { type: 'string' }, config: { type: 'string' }, capture: { type: 'string' } });
    if (!o.config) throw new UsageError('--config is required');
    const kit = o.kit === undefined ? undefined : await loadStartupKitIfPresent(o.kit);
    if (o.kit !== undefined && !kit) console.log(`startup kit ${o.kit} is gone: using the identity kept in the state directory`);
    const agent = new SiteAgent({ ...(kit ? { kit } : {}), config: await loadSiteConfig(o.config), ...(o.capture ? { captureFile: o.capture } : {}) });
    await agent.start();
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    await agent.stop();
    return 0;
  },
};

export const siteArchHash: Command = {
  name: 'site arch-hash',
  summary: 'print the hash a site pins to approve an architecture (policy.approvedArchitectures)',
  usage: 'Usage: lgefed site arch-hash NAME     (NAME: lite | paper, optionally :key=value,… e.g. lite:stages=3,inputSize=64)',
  async run(args) {
    const { positionals } = parseFlagsAndPositionals(args, {});
    if (positionals.length !== 1) throw new UsageError('give one architecture name');
    console.log(architectureHash(resolveArchitecture(positionals[0]!)));
    return 0;
  },
};

export const siteResplit: Command = {
  name: 'site resplit',
  summary: "re-divide the site's cases into train/validation/test after changing split in site.json",
  usage: `Usage: lgefed site resplit --config site.json

Stop the agent first. Forgets the split fixed in stateDir/split-<dataset>.json and divides every
dataset's labelled cases again by the counts site.json's split asks for. Cases may change role, so
results from before the re-split are not comparable with those after.`,
  async run(args) {
    const o = parseFlags(args, { config: { type: 'string' } });
    if (!o.config) throw new UsageError('--config is required');
    const config = await loadSiteConfig(o.config);
    await forgetSplits(config);
    for (const d of await registerDatasets(config)) {
      console.log(`dataset ${d.config.name}: split train ${d.split.train.length}, validation ${d.split.validation.length}, test ${d.split.test.length} (seed ${config.split.seed})`);
      for (const w of d.warnings) console.log(`  warning: ${w}`);
    }
    return 0;
  },
};

export const siteCommands: readonly Command[] = [siteStart, siteArchHash, siteResplit];
