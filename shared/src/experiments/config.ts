/**
 * Experiments are configs as data (JSON), so a run can be written down, repeated and later
 * reproduced by the federated jobs. `parseExperimentConfig` checks untrusted JSON and fills
 * defaults; every field that matters for the result ends up explicit in results.json.
 */
import { presetByName } from '../augment/presets.js';
import { cycleGanPreset, validateCycleGanSpec, type CycleGanSpec } from '../cyclegan/spec.js';
import type { CycleGanSchedule } from '../cyclegan/protocol.js';
import { LAYOUTS, type Layout } from '../imaging/layouts.js';
import { checkScales } from '../model/predict.js';
import { isPresetName, unetSpec, validateSpec, type UNetSpec } from '../model/spec.js';
import { PROFILES } from '../phantom/profiles.js';
import type { EarlyStoppingSettings } from '../workflows/train.js';
import { ExperimentError } from './errors.js';

export const EXPERIMENT_NAMES = ['augmentation', 'harmonisation', 'finetune', 'multicentre', 'transfer', 'cine'] as const;
export type ExperimentName = (typeof EXPERIMENT_NAMES)[number];

/** A site is a phantom profile (generated, seeded) or a real folder in one of our layouts. */
export type SiteSource =
  | { readonly name: string; readonly phantom: { readonly profile: string; readonly cases: number; readonly seed: number } }
  | { readonly name: string; readonly folder: string; readonly layout?: Layout };

export interface TrainingSettings {
  readonly iterations: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Seeds initialisation, batch order and augmentation; the same in every arm, so arms differ only in their factor. */
  readonly seed: number;
  /** Augmentation preset for experiments that do not vary it. */
  readonly augmentation: string;
  /** In-plane spacing (mm) the models work at. */
  readonly spacing: readonly [number, number];
  /** The study recipe: train each arm this many epochs over its slices (instead of `iterations`). */
  readonly epochs?: number;
  /** The study recipe: keep this share of each arm's cases apart and keep the weights of its best epoch on them. */
  readonly validationFraction?: number;
}

/**
 * The study's recipe (Sendra-Balcells et al.): the 6-stage `paper` U-Net on 256x256 patches, batch
 * 16, 250 epochs at a constant Adam rate of 1e-3, the paper's augmentation, 80 / 20 training /
 * validation per arm (the best validation epoch kept) and 15 test subjects per site. `scale` < 1
 * shortens the epochs for machines that cannot afford the full run, and every figure says so.
 */
export const STUDY_RECIPE = { preset: 'paper', batchSize: 16, learningRate: 1e-3, augmentation: 'paper', epochs: 250, validationFraction: 0.2, testCases: 15 } as const;

export type Recipe = { readonly name: 'custom' } | { readonly name: 'study'; readonly scale: number };

/** How a figure title says which recipe made it. */
export function recipeLabel(recipe: Recipe): string {
  if (recipe.name === 'custom') return '';
  return recipe.scale === 1 ? ' (study recipe)' : ` (study recipe, scaled ×${recipe.scale}: ${Math.max(1, Math.round(STUDY_RECIPE.epochs * recipe.scale))} epochs)`;
}

export interface CycleGanSettings {
  readonly spec: CycleGanSpec;
  readonly iterations: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  /** Generated images kept per domain for the discriminators (Zhu et al.: 50). */
  readonly imagePool: number;
  /** `linear`: constant for the first half, then decaying to 0 (Zhu et al.). */
  readonly schedule: CycleGanSchedule;
}

export interface ExperimentConfig {
  readonly experiment: ExperimentName;
  /** `study`: model and training as the paper ran them (STUDY_RECIPE); `custom`: as the config says. */
  readonly recipe: Recipe;
  readonly sites: readonly SiteSource[];
  /** Cases kept for testing at every site (the study keeps 15); the same split in every experiment. */
  readonly testCases: number;
  readonly splitSeed: number;
  readonly model: UNetSpec;
  readonly training: TrainingSettings;
  /** Test-time mirroring wherever an arm is scored (the x, y and xy mirror images averaged with the slice; 4x the inference). */
  readonly mirror: boolean;
  /** Test-time scale averaging wherever an arm is scored: multiples of the working spacing (PredictOptions.scales). */
  readonly scales?: readonly number[];
  /** Fig. 6: train at each of `trainSites` with each preset, test everywhere. */
  readonly augmentation: { readonly presets: readonly string[]; readonly trainSites: readonly string[] };
  /**
   * Fig. 7: for each reference site, a model trained there, tested at the others with each
   * harmonisation method (every site in turn: Figs. 6 / 7 with every site as the training centre).
   */
  readonly harmonisation: { readonly referenceSites: readonly string[]; readonly methods: readonly HarmonisationArm[]; readonly cyclegan: CycleGanSettings };
  /** Figs. 8, 10 and Table 5: pretrain at `sourceSite`, fine-tune at each target site. */
  readonly finetune: {
    readonly sourceSite: string;
    readonly targetSites: readonly string[];
    /** Block counts k for "first k encoder blocks" and "last k decoder blocks" (Fig. 8). */
    readonly blocks: readonly number[];
    /** Fractions of the target's training pool (Fig. 10, Table 5). */
    readonly fractions: readonly number[];
    /** Blocks trained in the data-fraction runs; absent = every block. */
    readonly fractionFreeze?: { readonly trainEncoderBlocks?: number; readonly trainDecoderBlocks?: number };
    /** Fine-tuning iterations (default: training.iterations). */
    readonly iterations: number;
    /**
     * Fig. 9: also train from scratch on the source site's pool plus each fraction of the target's
     * (the multi-centre alternative to fine-tuning the source model on the same target cases).
     */
    readonly scratchWithSource: boolean;
  };
  /** Fig. 11: sites added one by one in this order; each model is tested at every site. */
  /**
   * Fig. 11 / Table 4. `progressive`: sites pooled one at a time in `order`. `balanced` (the paper's):
   * each combination trains on the same total of cases split evenly over its sites (trainTotal
   * 42 and validationTotal 10 in the paper, scaled down when a site has fewer), in every arm.
   */
  readonly multicentre: {
    readonly order: readonly string[];
    readonly design: 'progressive' | 'balanced';
    readonly combinations: readonly (readonly string[])[];
    readonly trainTotal: number;
    readonly validationTotal: number;
    readonly arms: readonly MulticentreArm[];
    /** Early stopping on the validation cases: a check every `every` iterations, `patience` checks. */
    readonly validation: { readonly every: number; readonly patience: number };
    /**
     * Balanced design: also train every arm of each multi-site combination by FedAvg over the same
     * cases, `rounds` rounds (experiments/fedavg.ts), reported beside pooled training.
     */
    readonly federated?: { readonly rounds: number };
  };
  /** Fig. 10 / Table 5 at a real new centre, leave one patient out: a pretrained model fine-tuned vs scratch. */
  readonly transfer: {
    readonly site: string;
    /** Model directory to start from; absent = the shipped EMIDEC model. */
    readonly pretrained?: string;
    /** Patients trained on per fold (e.g. [1, 2]). */
    readonly trainCases: readonly number[];
    /** k for "first k encoder blocks" arms. */
    readonly encoderBlocks: readonly number[];
    /** Fine-tuning iterations (default: training.iterations). */
    readonly iterations: number;
    /** Fine-tuning learning rate (default: training.learningRate, which the scratch arm keeps). */
    readonly learningRate?: number;
    /** Score every trained arm on the left-out patient every this many iterations: learning curves. */
    readonly curveEvery?: number;
    /** From-scratch iterations (default: the fine-tuning ones). */
    readonly scratchIterations?: number;
    /** Early stopping on held-out slices of the training patients (iterations become a maximum). */
    readonly earlyStopping?: EarlyStoppingSettings;
  };
  /** The cine arm: pretrained on a cine cohort vs on an LGE site, fine-tuned at each target LGE site. */
  readonly cine: {
    /** Sites pooled for cine pretraining (default: the phantom sites of the `cine` profile). */
    readonly cohort: readonly string[];
    /** The LGE site of the other start (default: the first site outside the cohort). */
    readonly lgeSource: string;
    /** Default: every other site. */
    readonly targets: readonly string[];
    readonly fractions: readonly number[];
    /** Blocks trained when fine-tuning; absent = every block. */
    readonly freeze?: { readonly trainEncoderBlocks?: number; readonly trainDecoderBlocks?: number };
    /** Fine-tuning iterations (default: training.iterations). */
    readonly iterations: number;
  };
}

export const HARMONISATION_ARMS = ['none', 'histogram', 'cyclegan'] as const;
/** Table 4's arms: no augmentation, the paper's augmentation, histogram matching to the first site's profile. */
export const MULTICENTRE_ARMS = ['baseline', 'augmentation', 'histogram'] as const;
export type MulticentreArm = (typeof MULTICENTRE_ARMS)[number];

/** How rows, tables and figures name an arm trained by FedAvg instead of pooling its cases. */
export function federatedArmLabel(arm: MulticentreArm): string {
  return `${arm} · FedAvg`;
}

/** The arms a multicentre run reports, in order: each pooled arm, then its FedAvg counterpart if configured. */
export function reportedMulticentreArms(multicentre: ExperimentConfig['multicentre']): string[] {
  return multicentre.arms.flatMap((arm) => (multicentre.federated ? [arm, federatedArmLabel(arm)] : [arm]));
}

/** The paper's combinations for sites [A, B, C, D, …]: A | A+B | A+C | A+B+C | all (those that exist). */
export function paperCombinations(order: readonly string[]): string[][] {
  const [a, b, c] = order;
  const combinations = [[a], [a, b], [a, c], [a, b, c], order.length >= 4 ? [...order] : []];
  return combinations.filter((combo): combo is string[] => combo.length > 0 && combo.every((s) => s !== undefined));
}
export type HarmonisationArm = (typeof HARMONISATION_ARMS)[number];

type Json = Record<string, unknown>;

function earlyStoppingSettings(value: unknown, where: string): EarlyStoppingSettings {
  const e = object(value, where);
  const fraction = e['heldOutFraction'] === undefined ? undefined : positive(e['heldOutFraction'], `${where}.heldOutFraction`, 0);
  if (fraction !== undefined && !(fraction < 1)) throw new ExperimentError(`${where}.heldOutFraction must be below 1`);
  return {
    ...(fraction !== undefined ? { heldOutFraction: fraction } : {}),
    ...(e['every'] !== undefined ? { every: int(e['every'], `${where}.every`, 1) } : {}),
    ...(e['patience'] !== undefined ? { patience: int(e['patience'], `${where}.patience`, 1) } : {}),
  };
}

function object(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ExperimentError(`${where} must be an object`);
  return value as Json;
}

function optionalObject(value: unknown, where: string): Json {
  return value === undefined ? {} : object(value, where);
}

function int(value: unknown, where: string, min: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new ExperimentError(`${where} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return value;
}

function positive(value: unknown, where: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw new ExperimentError(`${where} must be a positive number, got ${JSON.stringify(value)}`);
  return value;
}

function cycleGanSchedule(value: unknown): CycleGanSchedule {
  const schedule = string(value, 'harmonisation.cyclegan.schedule', 'constant');
  if (schedule !== 'constant' && schedule !== 'linear') throw new ExperimentError(`harmonisation.cyclegan.schedule must be constant or linear, got '${schedule}'`);
  return schedule;
}

function boolean(value: unknown, where: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ExperimentError(`${where} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function string(value: unknown, where: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) throw new ExperimentError(`${where} must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function list<T>(value: unknown, where: string, item: (v: unknown, where: string) => T, fallback?: T[]): T[] {
  if (value === undefined && fallback !== undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0) throw new ExperimentError(`${where} must be a non-empty array`);
  return value.map((v, i) => item(v, `${where}[${i}]`));
}

function parseSite(value: unknown, where: string): SiteSource {
  const raw = object(value, where);
  const name = string(raw['name'], `${where}.name`);
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new ExperimentError(`${where}.name '${name}' may hold only letters, digits, _ and -`);
  if ((raw['phantom'] === undefined) === (raw['folder'] === undefined)) throw new ExperimentError(`${where} needs exactly one of phantom and folder`);
  if (raw['phantom'] !== undefined) {
    const p = object(raw['phantom'], `${where}.phantom`);
    const profile = string(p['profile'], `${where}.phantom.profile`);
    if (!Object.hasOwn(PROFILES, profile)) throw new ExperimentError(`${where}.phantom.profile '${profile}' is not one of ${Object.keys(PROFILES).join(', ')}`);
    return { name, phantom: { profile, cases: int(p['cases'], `${where}.phantom.cases`, 2), seed: int(p['seed'], `${where}.phantom.seed`, 0, 0) } };
  }
  const layout = raw['layout'];
  if (layout !== undefined && !(LAYOUTS as readonly unknown[]).includes(layout)) throw new ExperimentError(`${where}.layout must be one of ${LAYOUTS.join(', ')}`);
  return { name, folder: string(raw['folder'], `${where}.folder`), ...(layout !== undefined ? { layout: layout as Layout } : {}) };
}

function scaleFactors(value: unknown): readonly number[] {
  const factors = list(value, 'scales', (v, where) => {
    if (typeof v !== 'number') throw new ExperimentError(`${where} must be a number, got ${JSON.stringify(v)}`);
    return v;
  });
  try {
    return checkScales(factors);
  } catch (error) {
    throw new ExperimentError(`scales: ${(error as Error).message}`);
  }
}

function parseModel(value: unknown): UNetSpec {
  if (value === undefined) return unetSpec('lite');
  const raw = object(value, 'model');
  if (raw['architecture'] !== undefined) return validateSpec(raw);
  const preset = string(raw['preset'], 'model.preset', 'lite');
  if (!isPresetName(preset)) throw new ExperimentError(`model.preset '${preset}' is not a U-Net preset (lite, paper)`);
  return unetSpec(preset, optionalObject(raw['overrides'], 'model.overrides') as Partial<Omit<UNetSpec, 'architecture'>>);
}

function siteName(sites: readonly SiteSource[]) {
  return (value: unknown, where: string): string => {
    const name = string(value, where);
    if (!sites.some((s) => s.name === name)) throw new ExperimentError(`${where} '${name}' is not a configured site (${sites.map((s) => s.name).join(', ')})`);
    return name;
  };
}

function fraction(value: unknown, where: string): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new ExperimentError(`${where} must be a fraction in (0, 1], got ${JSON.stringify(value)}`);
  return value;
}

/** `recipe` (custom or study) and `scale`; the study recipe fixes the model and how it trains. */
function parseRecipe(raw: Json): Recipe {
  const name = string(raw['recipe'], 'recipe', 'custom');
  if (name !== 'custom' && name !== 'study') throw new ExperimentError(`recipe must be study or custom, got '${name}'`);
  if (name === 'custom') {
    if (raw['scale'] !== undefined) throw new ExperimentError('scale applies to the study recipe only');
    return { name };
  }
  const fixed = ['model', ...['batchSize', 'learningRate', 'augmentation'].map((k) => `training.${k}`)].filter((key) => {
    const [head, tail] = key.split('.') as [string, string | undefined];
    return tail === undefined ? raw[head] !== undefined : (raw['training'] as Json | undefined)?.[tail] !== undefined;
  });
  if (fixed.length > 0) throw new ExperimentError(`the study recipe fixes ${fixed.join(', ')}: leave them out, or use recipe custom`);
  const scale = positive(raw['scale'], 'scale', 1);
  if (scale > 1) throw new ExperimentError(`scale must be in (0, 1], got ${scale}`);
  return { name, scale };
}

function parseMulticentre(m: Json, site: (value: unknown, where: string) => string, siteNames: string[], iterations: number): ExperimentConfig['multicentre'] {
  const order = list(m['order'], 'multicentre.order', site, siteNames);
  const design = string(m['design'], 'multicentre.design', 'progressive');
  if (design !== 'progressive' && design !== 'balanced') throw new ExperimentError(`multicentre.design must be progressive or balanced, got '${design}'`);
  const combinations = list(m['combinations'], 'multicentre.combinations', (v, w) => list(v, w, site), paperCombinations(order));
  for (const [i, combo] of combinations.entries()) if (new Set(combo).size !== combo.length) throw new ExperimentError(`multicentre.combinations[${i}] names a site twice`);
  const arms = list(m['arms'], 'multicentre.arms', (v, w) => {
    const arm = string(v, w);
    if (!(MULTICENTRE_ARMS as readonly string[]).includes(arm)) throw new ExperimentError(`${w} '${arm}' is not one of ${MULTICENTRE_ARMS.join(', ')}`);
    return arm as MulticentreArm;
  }, [...MULTICENTRE_ARMS]);
  const v = optionalObject(m['validation'], 'multicentre.validation');
  const federated = m['federated'] === undefined ? undefined : optionalObject(m['federated'], 'multicentre.federated');
  if (federated && design !== 'balanced') throw new ExperimentError('multicentre.federated compares FedAvg with pooled training on the balanced design: set multicentre.design to balanced');
  return {
    order,
    design,
    combinations,
    trainTotal: int(m['trainTotal'], 'multicentre.trainTotal', 1, 42),
    validationTotal: int(m['validationTotal'], 'multicentre.validationTotal', 0, 10),
    arms,
    validation: { every: int(v['every'], 'multicentre.validation.every', 1, Math.max(1, Math.round(iterations / 10))), patience: int(v['patience'], 'multicentre.validation.patience', 1, 4) },
    ...(federated ? { federated: { rounds: int(federated['rounds'], 'multicentre.federated.rounds', 1, 5) } } : {}),
  };
}

export function parseExperimentConfig(input: unknown, experiment?: ExperimentName): ExperimentConfig {
  const raw = object(input, 'config');
  const name = experiment ?? string(raw['experiment'], 'experiment');
  if (!(EXPERIMENT_NAMES as readonly string[]).includes(name)) throw new ExperimentError(`unknown experiment '${name}' (expected one of: ${EXPERIMENT_NAMES.join(', ')})`);
  const sites = list(raw['sites'], 'sites', parseSite);
  const names = new Set<string>();
  for (const s of sites) {
    if (names.has(s.name)) throw new ExperimentError(`site name '${s.name}' is used twice`);
    names.add(s.name);
  }
  const site = siteName(sites);
  const t = optionalObject(raw['training'], 'training');
  const augmentationPreset = string(t['augmentation'], 'training.augmentation', 'paper');
  presetByName(augmentationPreset);
  const spacing = t['spacing'] === undefined ? ([1.5, 1.5] as const) : list(t['spacing'], 'training.spacing', (v, w) => positive(v, w, 1));
  if (spacing.length !== 2) throw new ExperimentError('training.spacing must be [x, y] in mm');
  const recipe = parseRecipe(raw);
  const training: TrainingSettings =
    recipe.name === 'study'
      ? {
          iterations: int(t['iterations'], 'training.iterations', 1, 300),
          batchSize: STUDY_RECIPE.batchSize,
          learningRate: STUDY_RECIPE.learningRate,
          seed: int(t['seed'], 'training.seed', 0, 1),
          augmentation: STUDY_RECIPE.augmentation,
          spacing: [spacing[0]!, spacing[1]!],
          epochs: Math.max(1, Math.round(STUDY_RECIPE.epochs * recipe.scale)),
          validationFraction: STUDY_RECIPE.validationFraction,
        }
      : {
          iterations: int(t['iterations'], 'training.iterations', 1, 300),
          batchSize: int(t['batchSize'], 'training.batchSize', 1, 8),
          learningRate: positive(t['learningRate'], 'training.learningRate', 1e-3),
          seed: int(t['seed'], 'training.seed', 0, 1),
          augmentation: augmentationPreset,
          spacing: [spacing[0]!, spacing[1]!],
        };
  const firstSite = sites[0]!.name;
  const a = optionalObject(raw['augmentation'], 'augmentation');
  const presets = list(a['presets'], 'augmentation.presets', (v, w) => string(v, w), ['none', 'spatial', 'paper']);
  presets.forEach((p) => presetByName(p));
  const h = optionalObject(raw['harmonisation'], 'harmonisation');
  const methods = list(h['methods'], 'harmonisation.methods', (v, w) => {
    const m = string(v, w);
    if (!(HARMONISATION_ARMS as readonly string[]).includes(m)) throw new ExperimentError(`${w} '${m}' is not one of ${HARMONISATION_ARMS.join(', ')}`);
    return m as HarmonisationArm;
  }, [...HARMONISATION_ARMS]);
  const c = optionalObject(h['cyclegan'], 'harmonisation.cyclegan');
  const cycleSpec = c['spec'] !== undefined ? validateCycleGanSpec(c['spec']) : cycleGanPreset(string(c['preset'], 'harmonisation.cyclegan.preset', 'site'));
  const f = optionalObject(raw['finetune'], 'finetune');
  const sourceSite = site(f['sourceSite'] ?? firstSite, 'finetune.sourceSite');
  const fractionFreeze = f['fractionFreeze'] === undefined ? undefined : object(f['fractionFreeze'], 'finetune.fractionFreeze');
  const m = optionalObject(raw['multicentre'], 'multicentre');
  const tr = optionalObject(raw['transfer'], 'transfer');
  return {
    experiment: name as ExperimentName,
    recipe,
    sites,
    testCases: int(raw['testCases'], 'testCases', 1, STUDY_RECIPE.testCases),
    splitSeed: int(raw['splitSeed'], 'splitSeed', 0, 2024),
    model: recipe.name === 'study' ? unetSpec(STUDY_RECIPE.preset) : parseModel(raw['model']),
    training,
    mirror: boolean(raw['mirror'], 'mirror', false),
    ...(raw['scales'] !== undefined ? { scales: scaleFactors(raw['scales']) } : {}),
    augmentation: { presets, trainSites: list(a['trainSites'], 'augmentation.trainSites', site, [firstSite]) },
    harmonisation: {
      // `referenceSite` (one) is the older spelling of `referenceSites`.
      referenceSites: h['referenceSites'] !== undefined ? list(h['referenceSites'], 'harmonisation.referenceSites', site) : [site(h['referenceSite'] ?? firstSite, 'harmonisation.referenceSite')],
      methods,
      cyclegan: {
        spec: cycleSpec,
        iterations: int(c['iterations'], 'harmonisation.cyclegan.iterations', 1, 300),
        batchSize: int(c['batchSize'], 'harmonisation.cyclegan.batchSize', 1, 4),
        learningRate: positive(c['learningRate'], 'harmonisation.cyclegan.learningRate', 2e-4),
        seed: int(c['seed'], 'harmonisation.cyclegan.seed', 0, training.seed),
        imagePool: int(c['imagePool'], 'harmonisation.cyclegan.imagePool', 0, 0),
        schedule: cycleGanSchedule(c['schedule']),
      },
    },
    finetune: {
      sourceSite,
      targetSites: list(f['targetSites'], 'finetune.targetSites', site, sites.map((s) => s.name).filter((n) => n !== sourceSite)),
      blocks: list(f['blocks'], 'finetune.blocks', (v, w) => int(v, w, 1), [1, 2, 3]),
      fractions: list(f['fractions'], 'finetune.fractions', fraction, [0.1, 0.25, 0.5, 1]),
      ...(fractionFreeze
        ? {
            fractionFreeze: {
              ...(fractionFreeze['trainEncoderBlocks'] !== undefined ? { trainEncoderBlocks: int(fractionFreeze['trainEncoderBlocks'], 'finetune.fractionFreeze.trainEncoderBlocks', 0) } : {}),
              ...(fractionFreeze['trainDecoderBlocks'] !== undefined ? { trainDecoderBlocks: int(fractionFreeze['trainDecoderBlocks'], 'finetune.fractionFreeze.trainDecoderBlocks', 0) } : {}),
            },
          }
        : {}),
      iterations: int(f['iterations'], 'finetune.iterations', 1, training.iterations),
      scratchWithSource: boolean(f['scratchWithSource'], 'finetune.scratchWithSource', false),
    },
    multicentre: parseMulticentre(m, site, sites.map((s) => s.name), training.iterations),
    transfer: {
      site: site(tr['site'] ?? firstSite, 'transfer.site'),
      ...(tr['pretrained'] !== undefined ? { pretrained: string(tr['pretrained'], 'transfer.pretrained') } : {}),
      trainCases: list(tr['trainCases'], 'transfer.trainCases', (v, w) => int(v, w, 1), [1, 2]),
      encoderBlocks: list(tr['encoderBlocks'], 'transfer.encoderBlocks', (v, w) => int(v, w, 1), [1, 2, 3, 4, 5]),
      iterations: int(tr['iterations'], 'transfer.iterations', 1, training.iterations),
      ...(tr['learningRate'] !== undefined ? { learningRate: positive(tr['learningRate'], 'transfer.learningRate', training.learningRate) } : {}),
      ...(tr['curveEvery'] !== undefined ? { curveEvery: int(tr['curveEvery'], 'transfer.curveEvery', 1) } : {}),
      ...(tr['scratchIterations'] !== undefined ? { scratchIterations: int(tr['scratchIterations'], 'transfer.scratchIterations', 1) } : {}),
      ...(tr['earlyStopping'] !== undefined ? { earlyStopping: earlyStoppingSettings(tr['earlyStopping'], 'transfer.earlyStopping') } : {}),
    },
    cine: parseCine(optionalObject(raw['cine'], 'cine'), sites, site, training.iterations, name === 'cine'),
  };
}

function parseCine(c: Json, sites: readonly SiteSource[], site: (value: unknown, where: string) => string, iterations: number, required: boolean): ExperimentConfig['cine'] {
  const names = sites.map((s) => s.name);
  const cineProfiled = sites.filter((s) => 'phantom' in s && s.phantom.profile === 'cine').map((s) => s.name);
  const cohort = list(c['cohort'], 'cine.cohort', site, cineProfiled);
  if (required && cohort.length === 0) throw new ExperimentError('cine.cohort names no site: list the cine sites (a phantom site of profile cine, or real cine folders)');
  const lgeSource = site(c['lgeSource'] ?? names.find((n) => !cohort.includes(n)) ?? names[0], 'cine.lgeSource');
  if (required && cohort.includes(lgeSource)) throw new ExperimentError(`cine.lgeSource '${lgeSource}' is in the cine cohort`);
  const targets = list(c['targets'], 'cine.targets', site, names.filter((n) => !cohort.includes(n) && n !== lgeSource));
  if (required && targets.length === 0) throw new ExperimentError('cine.targets names no LGE site to fine-tune at');
  const freeze = c['freeze'] === undefined ? undefined : object(c['freeze'], 'cine.freeze');
  return {
    cohort,
    lgeSource,
    targets,
    fractions: list(c['fractions'], 'cine.fractions', fraction, [0.1, 0.5, 1]),
    ...(freeze
      ? {
          freeze: {
            ...(freeze['trainEncoderBlocks'] !== undefined ? { trainEncoderBlocks: int(freeze['trainEncoderBlocks'], 'cine.freeze.trainEncoderBlocks', 0) } : {}),
            ...(freeze['trainDecoderBlocks'] !== undefined ? { trainDecoderBlocks: int(freeze['trainDecoderBlocks'], 'cine.freeze.trainDecoderBlocks', 0) } : {}),
          },
        }
      : {}),
    iterations: int(c['iterations'], 'cine.iterations', 1, iterations),
  };
}
