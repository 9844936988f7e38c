/**
 * One JSON Schema per job kind: the coordinator validates every submitted spec against it (and
 * fills in its defaults) before the workflow reads it, and `openapi.yaml` embeds the same schemas
 * (`npm run openapi -w coordinator` writes them). A spec the sites could not carry out (a training
 * option the wire protocol has no field for, FedAvg counted in iterations) fails here, at
 * submission, instead of as a refusal by every site.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { MAX_SCALES, SCALE_RANGE, type TestTimePasses } from '@lgefed/shared/model/test-time-scales';
import { CoordinatorError } from '../errors.js';

type Schema = Record<string, unknown>;

/**
 * What a spec holds once `validateJobSpec` accepted it (defaults filled in): workflows read these
 * without checking shapes again, and check only what a schema cannot know (enrolled sites, stored
 * models, how fields relate).
 */
export interface ValidatedLimits {
  readonly deadlineSeconds: number;
  readonly maxAttempts: number;
}
export type ValidatedTrainingConfig = Readonly<Record<string, string | number | boolean>>;
export interface ValidatedTrainSpec extends ValidatedLimits {
  readonly site: string;
  readonly architecture: string;
  readonly initialModel?: string | null;
  readonly config: ValidatedTrainingConfig;
}
export interface ValidatedModelRef {
  readonly label: string;
  readonly hash: string;
  readonly trainedAt?: readonly string[];
}
export interface ValidatedEvaluateSpec extends ValidatedLimits {
  readonly sites: readonly string[];
  readonly models: readonly ValidatedModelRef[];
  readonly minSites?: number;
  readonly inference?: TestTimePasses;
}
export interface ValidatedFedAvgSpec extends ValidatedLimits {
  readonly sites: readonly string[];
  readonly rounds: number;
  readonly localEpochs: number;
  readonly architecture: string;
  readonly initialModel?: string | null;
  readonly config: ValidatedTrainingConfig;
  readonly aggregation: { readonly strategy: 'fedavg' | 'fedprox' | 'median' | 'trimmed-mean'; readonly mu?: number; readonly trimFraction?: number; readonly clipNorm?: number };
  readonly minSites?: number;
  readonly progressive?: { readonly initialSites: number; readonly addPerRound: number };
  readonly compareWithLocal: boolean;
  readonly inference?: TestTimePasses;
}
export interface ValidatedFinetuneSpec extends ValidatedLimits {
  readonly sites: readonly string[];
  readonly architecture: string;
  readonly pretrainedModel: string;
  readonly encoderBlocks: readonly number[];
  readonly trainDecoderBlocks?: number;
  readonly dataFractions: readonly number[];
  readonly scratchBaselines: boolean;
  readonly config: ValidatedTrainingConfig;
  readonly inference?: TestTimePasses;
  readonly minSites?: number;
}
export interface ValidatedHarmonisationCheckSpec extends ValidatedLimits {
  readonly sites: readonly string[];
  readonly reference: unknown;
  readonly epsilon: number;
  readonly flagWasserstein: number;
  readonly minSites?: number;
}

const positiveInteger = { type: 'integer', minimum: 1 };
const siteNames = { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 }, description: 'names of enrolled sites' };
const modelRef = { type: 'string', minLength: 1, description: "a model in the coordinator's store, by name (emidec-unet-lite) or sha256" };
const architecture = { type: 'string', minLength: 1, default: 'lite', description: 'lite, paper, or a preset with overrides, e.g. lite:inputSize=96' };
const name = { type: 'string', minLength: 1, maxLength: 120, description: 'what the console, audit log and reports call the job; default: its kind and sites' };
const minSites = { type: 'integer', minimum: 1, description: 'sites that must answer each round; default: every site named' };
const inference = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mirror: { type: 'boolean', default: false, description: 'average each window with its x, y and xy mirror images (4x the inference)' },
    scales: { type: 'array', minItems: 1, maxItems: MAX_SCALES, items: { type: 'number', minimum: SCALE_RANGE[0], maximum: SCALE_RANGE[1] }, description: 'segment at these multiples of the working spacing and average the class probabilities on each case grid (one pass each)' },
  },
  description: 'test-time averaging when sites score; absent: one pass at the working spacing',
};
const limits = {
  deadlineSeconds: { type: 'integer', minimum: 1, default: 3600, description: 'per task attempt' },
  maxAttempts: { type: 'integer', minimum: 1, default: 2 },
};

/** Every option with a field in the wire protocol's HyperParameters (transport/task-wire.ts). */
const trainingOptions = {
  epochs: positiveInteger,
  iterations: positiveInteger,
  batchSize: positiveInteger,
  learningRate: { type: 'number', exclusiveMinimum: 0 },
  weightDecay: { type: 'number', minimum: 0 },
  seed: { type: 'integer', minimum: 0 },
  optimizer: { type: 'string' },
  loss: { type: 'string' },
  augmentation: { enum: ['none', 'spatial', 'paper', 'nnunet'] },
  dataFraction: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  caseCount: { ...positiveInteger, description: "exactly this many of each site's training cases (a seeded selection), so every site trains on the same count; instead of dataFraction" },
  proximalMu: { type: 'number', minimum: 0 },
};
type TrainingOption = keyof typeof trainingOptions;

const without = (...dropped: TrainingOption[]) => Object.fromEntries(Object.entries(trainingOptions).filter(([k]) => !(dropped as string[]).includes(k)));

/** A site's cases are chosen by a fraction or by a count, not both. */
const ONE_SELECTION: Schema = { required: ['dataFraction', 'caseCount'] };

/** A site trains for exactly one of a number of epochs or of iterations. */
const trainingConfig = (options: Schema, fallback: Schema): Schema => ({
  type: 'object',
  additionalProperties: false,
  properties: options,
  oneOf: [
    { required: ['epochs'], not: { required: ['iterations'] } },
    { required: ['iterations'], not: { required: ['epochs'] } },
  ],
  not: ONE_SELECTION,
  default: fallback,
  description: 'training options; exactly one of epochs and iterations, at most one of dataFraction and caseCount',
});

const train: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['site'],
  properties: {
    name,
    site: { type: 'string', minLength: 1, description: 'the enrolled site that trains' },
    architecture,
    initialModel: { anyOf: [modelRef, { type: 'null' }], description: 'weights to start from; null or absent: the site initialises from config.seed' },
    config: trainingConfig(trainingOptions, { epochs: 1 }),
    ...limits,
  },
};

export const JOB_SCHEMAS: Readonly<Record<string, Schema>> = {
  pretrain: train,
  train,
  evaluate: {
    type: 'object',
    additionalProperties: false,
    required: ['sites', 'models'],
    properties: {
      name,
      sites: siteNames,
      models: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['label', 'hash'],
          properties: {
            label: { type: 'string', minLength: 1 },
            hash: modelRef,
            trainedAt: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'centres whose data trained the model (for the single- vs multi-centre comparison)' },
          },
        },
      },
      inference,
      minSites,
      ...limits,
    },
  },
  fedavg: {
    type: 'object',
    additionalProperties: false,
    required: ['sites', 'rounds'],
    properties: {
      name,
      sites: siteNames,
      rounds: positiveInteger,
      localEpochs: { ...positiveInteger, default: 1 },
      architecture,
      initialModel: { anyOf: [modelRef, { type: 'null' }], description: 'weights to start from; null or absent: each site initialises from config.seed' },
      config: {
        type: 'object',
        additionalProperties: false,
        properties: without('iterations'),
        not: ONE_SELECTION,
        default: {},
        description: 'training options; local work is counted in epochs (localEpochs sets config.epochs), so iterations cannot be carried out; at most one of dataFraction and caseCount',
      },
      aggregation: {
        type: 'object',
        required: ['strategy'],
        additionalProperties: false,
        properties: { strategy: { enum: ['fedavg', 'fedprox', 'median', 'trimmed-mean'] }, mu: { type: 'number', minimum: 0 }, trimFraction: { type: 'number', minimum: 0, exclusiveMaximum: 0.5 }, clipNorm: { type: 'number', exclusiveMinimum: 0, description: "largest L2 norm of one site's update (its weights minus the round's starting model); needs initialModel" } },
        default: { strategy: 'fedavg' },
      },
      inference,
      minSites,
      progressive: {
        type: 'object',
        additionalProperties: false,
        required: ['initialSites', 'addPerRound'],
        properties: { initialSites: positiveInteger, addPerRound: { type: 'integer', minimum: 0 } },
        description: 'start with the first initialSites sites listed and add addPerRound each round',
      },
      compareWithLocal: { type: 'boolean', default: true, description: 'train each site alone first and end with the single- vs multi-centre comparison' },
      ...limits,
    },
  },
  finetune: {
    type: 'object',
    additionalProperties: false,
    required: ['sites', 'pretrainedModel', 'encoderBlocks', 'dataFractions'],
    properties: {
      name,
      sites: siteNames,
      architecture,
      pretrainedModel: modelRef,
      encoderBlocks: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'integer', minimum: 0, maximum: 16 }, description: 'one variant per count of leading encoder blocks trained' },
      trainDecoderBlocks: { type: 'integer', minimum: 0, description: 'the last m decoder blocks also train; absent: decoder frozen' },
      dataFractions: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'number', exclusiveMinimum: 0, maximum: 1 } },
      scratchBaselines: { type: 'boolean', default: true },
      config: trainingConfig(without('dataFraction', 'caseCount'), { iterations: 50 }),
      inference,
      minSites,
      ...limits,
    },
  },
  'harmonisation-check': {
    type: 'object',
    additionalProperties: false,
    required: ['sites', 'reference', 'epsilon'],
    properties: {
      name,
      sites: siteNames,
      reference: {
        type: 'object',
        required: ['normalisation', 'histogram', 'quantiles'],
        properties: { normalisation: { type: 'object' }, histogram: { type: 'object' }, quantiles: { type: 'object' } },
        description: 'the reference intensity profile (shared/models/emidec-unet-lite/reference-intensity.json)',
      },
      epsilon: { type: 'number', exclusiveMinimum: 0, description: "each site's differential-privacy ε for its histogram" },
      flagWasserstein: { type: 'number', exclusiveMinimum: 0, default: 0.05 },
      minSites,
      ...limits,
    },
  },
};

const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true });
const validators = new Map(Object.entries(JOB_SCHEMAS).map(([kind, schema]) => [kind, ajv.compile(schema)]));

function describe(err: ErrorObject): string {
  const at = err.instancePath ? err.instancePath.slice(1).replace(/\//g, '.') : 'spec';
  const detail = err.keyword === 'additionalProperties' ? ` (${(err.params as { additionalProperty: string }).additionalProperty})` : '';
  const why = (err.parentSchema as { description?: string } | undefined)?.description;
  if (err.keyword === 'oneOf' && why) return `${at} does not fit: ${why}`;
  return `${at} ${err.message}${detail}${err.keyword === 'additionalProperties' && why ? `: ${why}` : ''}`;
}

/**
 * The spec with the schema's defaults filled in; throws `invalid_argument` naming every problem.
 * Kinds without a schema are left to their workflow.
 */
export function validateJobSpec(kind: string, spec: unknown): unknown {
  const validate = validators.get(kind);
  // Every workflow reads its spec as its schema guarantees it: a kind without one is a programming error.
  if (!validate) throw new Error(`no JSON Schema for job kind ${kind}`);
  const copy = structuredClone(spec ?? {});
  if (!validate(copy)) {
    const problems = [...new Set((validate.errors ?? []).filter((e) => e.keyword !== 'if' && !e.schemaPath.includes('/oneOf/')).map(describe))];
    throw new CoordinatorError('invalid_argument', `${kind} job spec: ${problems.join('; ')}`);
  }
  return copy;
}
