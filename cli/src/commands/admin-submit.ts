import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRETRAINED_MODEL_DIR } from '@lgefed/shared/workflows/pretrained';
import { STUDY_RECIPE } from '@lgefed/shared/experiments/config';
import { UsageError, type Command } from '../command.js';
import { integer, parseFlagsAndPositionals, positiveInteger, positiveNumber, type FlagSpec } from '../flags.js';
import { CONNECTION, CONNECTION_USAGE, clientFrom, watchJob, type AdminClient } from './admin.js';

/** The model the study starts from, as every coordinator names it. */
const SHIPPED_MODEL = 'emidec-unet-lite';
const REFERENCE_FILE = join(PRETRAINED_MODEL_DIR, 'reference-intensity.json');

type Flags = Record<string, string | boolean | undefined>;
type Spec = Record<string, unknown>;

const COMMON: FlagSpec = {
  ...CONNECTION,
  sites: { type: 'string' },
  'min-sites': { type: 'string' },
  'deadline-seconds': { type: 'string' },
  'max-attempts': { type: 'string' },
  watch: { type: 'boolean' },
  'interval-ms': { type: 'string' },
};
const TRAINING: FlagSpec = { architecture: { type: 'string' }, epochs: { type: 'string' }, iterations: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' }, augment: { type: 'string' }, recipe: { type: 'string' }, scale: { type: 'string' } };
const STARTING_MODEL: FlagSpec = { model: { type: 'string' }, scratch: { type: 'boolean' } };
/** How sites segment when they score (jobs that score models). */
const INFERENCE: FlagSpec = { mirror: { type: 'boolean' }, scales: { type: 'string' } };
const INFERENCE_USAGE = '[--mirror] [--scales F,F,…]';

const list = (value: string | boolean | undefined): string[] | undefined => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
const numbers = (value: string | boolean | undefined, flag: string): number[] | undefined =>
  list(value)?.map((v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`${flag} takes comma-separated numbers, got ${v}`);
    return n;
  });
/** Drops unset fields, so the coordinator's schema fills in its defaults. */
const defined = (spec: Spec): Spec => Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined));

/**
 * `--recipe study`: the paper's network and training (STUDY_RECIPE) in place of the flags it fixes;
 * `--scale` shortens its 250 epochs. Splits stay each site's own (its site.json).
 */
function studyRecipe(o: Flags, counted: 'epochs' | 'rounds'): { architecture?: string; config: Spec } | undefined {
  if (o['recipe'] === undefined) {
    if (o['scale'] !== undefined) throw new UsageError('--scale applies to --recipe study only');
    return undefined;
  }
  if (o['recipe'] !== 'study') throw new UsageError(`--recipe takes study, got ${String(o['recipe'])}`);
  const fixed = ['architecture', 'batch', 'lr', 'augment', 'epochs', 'iterations'].filter((flag) => o[flag] !== undefined);
  if (fixed.length > 0) throw new UsageError(`--recipe study fixes ${fixed.map((f) => `--${f}`).join(', ')}: leave them out`);
  const scale = positiveNumber(o['scale'], '--scale') ?? 1;
  if (scale > 1) throw new UsageError(`--scale must be in (0, 1], got ${scale}`);
  const { preset, batchSize, learningRate, augmentation, epochs } = STUDY_RECIPE;
  return { architecture: preset, config: { batchSize, learningRate, augmentation, ...(counted === 'epochs' ? { epochs: Math.max(1, Math.round(epochs * scale)) } : {}) } };
}

function trainingConfig(o: Flags, counted: 'epochs' | 'rounds' = 'epochs'): Spec {
  const recipe = studyRecipe(o, counted);
  return defined({
    epochs: positiveInteger(o['epochs'], '--epochs'),
    iterations: positiveInteger(o['iterations'], '--iterations'),
    batchSize: positiveInteger(o['batch'], '--batch'),
    learningRate: positiveNumber(o['lr'], '--lr'),
    seed: integer(o['seed'], '--seed'),
    augmentation: o['augment'],
    ...recipe?.config,
  });
}

/** The network: --architecture, the study recipe's, or the coordinator's default. */
const architectureOf = (o: Flags): unknown => (o['recipe'] === 'study' ? STUDY_RECIPE.preset : o['architecture']);

/** `undefined` leaves the coordinator's default (all of `config` comes from it when no flag is given). */
const configOrDefault = (config: Spec) => (Object.keys(config).length > 0 ? config : undefined);

function startingModel(o: Flags): string | null {
  if (o['scratch'] && o['model']) throw new UsageError('give --model or --scratch, not both');
  return o['scratch'] ? null : typeof o['model'] === 'string' ? o['model'] : SHIPPED_MODEL;
}

/** `--mirror` / `--scales` as the spec's inference; undefined (one pass) when neither is given. */
function inferenceOf(o: Flags): Spec | undefined {
  const scales = numbers(o['scales'], '--scales');
  if (!o['mirror'] && scales === undefined) return undefined;
  return defined({ mirror: o['mirror'] ? true : undefined, scales });
}

const limits = (o: Flags) => ({ minSites: positiveInteger(o['min-sites'], '--min-sites'), deadlineSeconds: positiveInteger(o['deadline-seconds'], '--deadline-seconds'), maxAttempts: positiveInteger(o['max-attempts'], '--max-attempts') });

/** Every enrolled site, the study's default for jobs over sites. */
async function enrolledSites(client: AdminClient): Promise<string[]> {
  const sites = await client.request<{ name: string; status: string }[]>('GET', '/api/sites');
  const names = sites.filter((s) => s.status === 'enrolled').map((s) => s.name);
  if (names.length === 0) throw new UsageError('no site is enrolled yet: pass --sites or enrol sites first');
  return names;
}

interface Kind {
  readonly flags: FlagSpec;
  readonly usage: string;
  spec(o: Flags, sites: () => Promise<string[]>): Promise<Spec>;
}

const KINDS: Readonly<Record<string, Kind>> = {
  evaluate: {
    flags: { models: { type: 'string' }, ...INFERENCE },
    usage: `evaluate [--models LABEL=MODEL,…] ${INFERENCE_USAGE}   cross-site Dice of each model at each site (default: emidec-unet-lite;
                 --mirror / --scales: sites average mirrored passes / passes at these multiples of the working spacing)`,
    async spec(o, sites) {
      const models = (list(o['models']) ?? [SHIPPED_MODEL]).map((m) => {
        const [label, ref] = m.includes('=') ? (m.split('=', 2) as [string, string]) : [m, m];
        return { label, hash: ref };
      });
      return defined({ sites: list(o['sites']) ?? (await sites()), models, inference: inferenceOf(o), ...limits(o) });
    },
  },
  train: {
    flags: { ...TRAINING, ...STARTING_MODEL, site: { type: 'string' } },
    usage: `train --site NAME [--model M | --scratch] [--architecture lite] [--epochs N | --iterations N] [training flags]`,
    async spec(o) {
      if (typeof o['site'] !== 'string') throw new UsageError('train needs --site NAME');
      return defined({ site: o['site'], architecture: architectureOf(o), initialModel: startingModel(o), config: configOrDefault(trainingConfig(o)), deadlineSeconds: limits(o).deadlineSeconds, maxAttempts: limits(o).maxAttempts });
    },
  },
  finetune: {
    flags: { ...TRAINING, ...INFERENCE, model: { type: 'string' }, 'encoder-blocks': { type: 'string' }, 'decoder-blocks': { type: 'string' }, fractions: { type: 'string' }, 'no-scratch': { type: 'boolean' } },
    usage: `finetune [--model M] [--encoder-blocks 2] [--decoder-blocks M] [--fractions 1] [--no-scratch] ${INFERENCE_USAGE} [training flags; default 50 iterations]`,
    async spec(o, sites) {
      return defined({
        sites: list(o['sites']) ?? (await sites()),
        architecture: architectureOf(o),
        pretrainedModel: typeof o['model'] === 'string' ? o['model'] : SHIPPED_MODEL,
        encoderBlocks: numbers(o['encoder-blocks'], '--encoder-blocks') ?? [2],
        trainDecoderBlocks: integer(o['decoder-blocks'], '--decoder-blocks'),
        dataFractions: numbers(o['fractions'], '--fractions') ?? [1],
        scratchBaselines: o['no-scratch'] ? false : undefined,
        config: configOrDefault(trainingConfig(o)),
        inference: inferenceOf(o),
        ...limits(o),
      });
    },
  },
  fedavg: {
    flags: { ...TRAINING, ...STARTING_MODEL, ...INFERENCE, rounds: { type: 'string' }, 'local-epochs': { type: 'string' }, aggregation: { type: 'string' }, mu: { type: 'string' }, 'trim-fraction': { type: 'string' }, 'no-local-baselines': { type: 'boolean' }, 'case-count': { type: 'string' } },
    usage: `fedavg [--rounds 3] [--local-epochs 1] [--model M | --scratch] [--aggregation fedavg|fedprox|median|trimmed-mean [--mu X] [--trim-fraction X]]
                 [--case-count N] [--no-local-baselines] ${INFERENCE_USAGE} [training flags but --epochs/--iterations]
                 --case-count: every site trains on exactly N of its cases (Table 4's balanced design)`,
    async spec(o, sites) {
      if (o['epochs'] !== undefined || o['iterations'] !== undefined) throw new UsageError('fedavg counts local work with --local-epochs');
      const strategy = typeof o['aggregation'] === 'string' ? o['aggregation'] : undefined;
      const aggregation = strategy === undefined ? undefined : defined({ strategy, mu: positiveNumber(o['mu'], '--mu'), trimFraction: positiveNumber(o['trim-fraction'], '--trim-fraction') });
      return defined({
        sites: list(o['sites']) ?? (await sites()),
        rounds: positiveInteger(o['rounds'], '--rounds') ?? 3,
        localEpochs: positiveInteger(o['local-epochs'], '--local-epochs'),
        architecture: architectureOf(o),
        initialModel: startingModel(o),
        config: configOrDefault(defined({ ...trainingConfig(o, 'rounds'), caseCount: positiveInteger(o['case-count'], '--case-count') })),
        aggregation,
        compareWithLocal: o['no-local-baselines'] ? false : undefined,
        inference: inferenceOf(o),
        ...limits(o),
      });
    },
  },
  'harmonisation-check': {
    flags: { reference: { type: 'string' }, epsilon: { type: 'string' }, 'flag-wasserstein': { type: 'string' } },
    usage: `harmonisation-check [--reference FILE] [--epsilon 1] [--flag-wasserstein 0.05]   (default reference: the shipped model's)`,
    async spec(o, sites) {
      const file = typeof o['reference'] === 'string' ? o['reference'] : REFERENCE_FILE;
      let reference: unknown;
      try {
        reference = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new UsageError(`--reference ${file}: ${(err as Error).message}`);
      }
      return defined({ sites: list(o['sites']) ?? (await sites()), reference, epsilon: positiveNumber(o['epsilon'], '--epsilon') ?? 1, flagWasserstein: positiveNumber(o['flag-wasserstein'], '--flag-wasserstein'), ...limits(o) });
    },
  },
};

export const adminSubmit: Command = {
  name: 'admin submit',
  summary: 'submit a job (evaluate, train, finetune, fedavg, harmonisation-check) with the study defaults; prints its id',
  usage: `Usage: lgefed admin submit KIND [flags] [--sites a,b] [--min-sites N] [--deadline-seconds 3600] [--max-attempts 2] [--watch]
  ${Object.values(KINDS)
    .map((k) => k.usage)
    .join('\n  ')}
  training flags: [--architecture lite] [--epochs N | --iterations N] [--batch N] [--lr X] [--seed N] [--augment none|spatial|paper|nnunet]
                  or --recipe study [--scale S]: the paper's network and training (paper U-Net, batch 16,
                  constant 1e-3, paper augmentation, 250 epochs times S; FedAvg keeps its --local-epochs)
  ${CONNECTION_USAGE}

Sites default to every enrolled site and models to emidec-unet-lite (the shipped EMIDEC model);
other defaults are the coordinator's (coordinator/openapi.yaml lists them per kind). Prints the job
id; --watch then follows it to the end (exit status 0 only when it completes).`,
  async run(args) {
    const kindName = args[0];
    const kind = kindName === undefined ? undefined : KINDS[kindName];
    if (!kind) throw new UsageError(`give a job kind: ${Object.keys(KINDS).join(', ')}`);
    const { values: o, positionals } = parseFlagsAndPositionals(args.slice(1), { ...COMMON, ...kind.flags });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const client = clientFrom(o);
    const spec = await kind.spec(o, () => enrolledSites(client));
    const job = await client.request<{ id: string }>('POST', '/api/jobs', { kind: kindName, spec });
    console.log(job.id);
    if (!o['watch']) return 0;
    const done = await watchJob(client, job.id, Number(o['interval-ms'] ?? 1000));
    if (done.failure) console.error(done.failure);
    return done.status === 'completed' ? 0 : 1;
  },
};
