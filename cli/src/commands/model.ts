/** `lgefed train | finetune | evaluate | predict`: the model workflows for people and scripts. */
import { cycleGanTransform, loadCycleGanGenerator } from '@lgefed/shared/cyclegan/index';
import { LAYOUTS } from '@lgefed/shared/imaging/index';
import { checkScales, isPresetName, MAX_SCALES, PRESETS, unetSpec, type UNetSpec } from '@lgefed/shared/model/index';
import {
  evaluateModel,
  FINETUNE_CHECK_EVERY,
  FINETUNE_ENCODER_BLOCKS,
  FINETUNE_ITERATIONS,
  FINETUNE_LEARNING_RATE,
  FINETUNE_PATIENCE,
  finetuneModel,
  intensityHarmonisation,
  loadModelDirectory,
  predictNiftiFile,
  PRETRAINED_MODEL_DIR,
  readReferenceProfile,
  REFERENCE_PROFILE_FILE,
  splitCases,
  trainSegmentation,
  type CaseSelection,
  type EvaluationReport,
  type ImageTransform,
  type LoadedModel,
  type TrainSegmentationResult,
} from '@lgefed/shared/workflows/index';
import { join } from 'node:path';
import { UsageError, type Command } from '../command.js';
import { integer, layoutOf, parseFlags as options, positiveInteger, positiveNumber, required } from '../flags.js';
import { loadCases } from '../load-cases.js';
import { progressBar, trainingDetail } from '../progress-bar.js';

/** Training flags shared by train and finetune. */
const TRAINING_FLAGS = {
  data: { type: 'string' },
  layout: { type: 'string' },
  augment: { type: 'string' },
  epochs: { type: 'string' },
  iterations: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  'max-minutes': { type: 'string' },
  out: { type: 'string' },
  float16: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** How long a run is when neither --epochs nor --iterations is given. */
type DefaultLength = { readonly epochs: number } | { readonly iterations: number };

function trainingSettings(o: Record<string, string | boolean | undefined>, defaultLength: DefaultLength, defaultLearningRate = 1e-3) {
  const epochs = positiveInteger(o['epochs'], '--epochs');
  const iterations = positiveInteger(o['iterations'], '--iterations');
  if (epochs !== undefined && iterations !== undefined) throw new UsageError('give --epochs or --iterations, not both');
  const maxMinutes = positiveNumber(o['max-minutes'], '--max-minutes');
  const bar = o['json'] ? undefined : progressBar(trainingDetail());
  return {
    settings: {
      ...(epochs !== undefined || iterations !== undefined ? {} : defaultLength),
      ...(epochs !== undefined ? { epochs } : {}),
      ...(iterations !== undefined ? { iterations } : {}),
      augmentation: typeof o['augment'] === 'string' ? o['augment'] : 'paper',
      batchSize: positiveInteger(o['batch'], '--batch') ?? 8,
      learningRate: positiveNumber(o['lr'], '--lr') ?? defaultLearningRate,
      seed: integer(o['seed'], '--seed') ?? 0,
      ...(maxMinutes !== undefined ? { maxSeconds: maxMinutes * 60 } : {}),
      outDir: required(o['out'], '--out'),
      dtype: o['float16'] ? ('float16' as const) : ('float32' as const),
      ...(bar ? { onProgress: bar.update } : {}),
      onLog: (line: string) => console.error(line),
    },
    finish: () => bar?.done(),
  };
}

function trainingSummary(result: TrainSegmentationResult): Record<string, unknown> {
  const { record } = result;
  return { modelId: result.modelId, iterations: record.iterations, seconds: Math.round(record.seconds), finalLoss: result.losses.at(-1) ?? null, stoppedByTimeLimit: result.stoppedByTimeLimit, cases: record.trainCases.length };
}

function diceText(report: EvaluationReport): string {
  const d = report.summary.dice;
  return `Dice blood pool ${d.bloodpool.mean.toFixed(3)} ± ${d.bloodpool.sd.toFixed(3)}, myocardium ${d.myocardium.mean.toFixed(3)} ± ${d.myocardium.sd.toFixed(3)} (${report.cases.length} cases)`;
}

export const train: Command = {
  name: 'train',
  summary: 'train a U-Net from scratch on a dataset folder (augmentation, seeded case-level validation split)',
  usage: `Usage: lgefed train --data DIR --out MODEL_DIR [--layout auto|${LAYOUTS.join('|')}] [--preset ${Object.keys(PRESETS).join('|')}]
                    [--augment none|spatial|paper|nnunet] [--epochs N | --iterations N] [--batch 8] [--lr 0.001]
                    [--seed 0] [--validation-fraction 0.2] [--max-minutes M] [--float16] [--json]

Trains on the training part of a seeded case-level split, then scores the validation cases
(3D Dice after largest-component post-processing). --max-minutes stops early and keeps the
weights reached. Default: lite preset, paper augmentation, 10 epochs.`,
  async run(args) {
    const o = options(args, { ...TRAINING_FLAGS, preset: { type: 'string' }, 'validation-fraction': { type: 'string' } });
    const preset = typeof o.preset === 'string' ? o.preset : 'lite';
    if (!isPresetName(preset)) throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
    const fraction = o['validation-fraction'] === undefined ? 0.2 : Number(o['validation-fraction']);
    if (!(fraction >= 0 && fraction < 1)) throw new UsageError('--validation-fraction must be in [0, 1)');
    const { settings, finish } = trainingSettings(o, { epochs: 10 });
    const cases = await loadCases(required(o.data, '--data'), layoutOf(o.layout));
    const split = fraction > 0 ? splitCases(cases.map((c) => c.id), { validationFraction: fraction, seed: settings.seed }) : { train: cases.map((c) => c.id), validation: [] };
    const inSplit = (ids: string[]) => cases.filter((c) => ids.includes(c.id));
    const result = await trainSegmentation({ ...settings, spec: unetSpec(preset), cases: inSplit(split.train), notes: { validationCases: split.validation } });
    finish();
    const validation = split.validation.length > 0 ? await evaluateModel({ model: await loadModelDirectory(settings.outDir), cases: inSplit(split.validation), onLog: () => {} }) : undefined;
    if (o.json) console.log(JSON.stringify({ ...trainingSummary(result), validation: validation && { cases: validation.cases, ...validation.summary } }));
    else {
      console.log(`saved ${settings.outDir} (model ${result.modelId.slice(0, 12)}, ${result.record.iterations} iterations, ${(result.record.seconds / 60).toFixed(1)} min)`);
      if (validation) console.log(`validation: ${diceText(validation)}`);
    }
    return 0;
  },
};

async function modelFrom(value: string | boolean | undefined): Promise<LoadedModel> {
  return loadModelDirectory(typeof value === 'string' ? value : PRETRAINED_MODEL_DIR);
}

export const finetune: Command = {
  name: 'finetune',
  summary: 'fine-tune a model (default: the shipped EMIDEC model) on a site, training only chosen blocks',
  usage: `Usage: lgefed finetune --data DIR --out MODEL_DIR [--model DIR | --scratch PRESET] [--encoder-blocks K] [--decoder-blocks M | --whole-network]
                       [--fraction F | --cases N] [--selection-seed S] [--augment paper] [--epochs N | --iterations N]
                       [--batch 8] [--lr ${FINETUNE_LEARNING_RATE} (scratch: 0.001)] [--seed 0] [--max-minutes M] [--float16] [--json]
                       [--no-early-stop | --check-every ${FINETUNE_CHECK_EVERY} --patience ${FINETUNE_PATIENCE}]

Trains the first K encoder blocks and/or the last M decoder blocks (default: the first
${FINETUNE_ENCODER_BLOCKS} encoder blocks; --whole-network: every block) on a seeded fraction or count of the site's
annotated cases. --scratch lite|paper trains every block from random initialisation: the baseline
to compare against.

Early stopping (default): 20 % of the chosen cases' slices showing the heart are held out; their
loss is checked before training and every --check-every iterations, training stops after --patience
checks without a new best, and the best checked weights are saved (so the result is never worse on
those slices than the model it started from). Default length: at most ${FINETUNE_ITERATIONS} iterations of 8 windows,
as in the leave-one-patient-out transfer experiment on real Sunnybrook patients (docs/transfer-sunnybrook-all-arms.json).`,
  async run(args) {
    const o = options(args, {
      ...TRAINING_FLAGS,
      model: { type: 'string' },
      scratch: { type: 'string' },
      'encoder-blocks': { type: 'string' },
      'decoder-blocks': { type: 'string' },
      fraction: { type: 'string' },
      cases: { type: 'string' },
      'selection-seed': { type: 'string' },
      'no-early-stop': { type: 'boolean' },
      'whole-network': { type: 'boolean' },
      'check-every': { type: 'string' },
      patience: { type: 'string' },
    });
    if (o.model && o.scratch) throw new UsageError('give --model or --scratch, not both');
    if (o.fraction && o.cases) throw new UsageError('give --fraction or --cases, not both');
    let start: LoadedModel | { scratch: UNetSpec };
    if (typeof o.scratch === 'string') {
      if (!isPresetName(o.scratch)) throw new UsageError(`--scratch must be one of ${Object.keys(PRESETS).join(', ')}`);
      start = { scratch: unetSpec(o.scratch) };
    } else start = await modelFrom(o.model);
    const blocks = (value: string | boolean | undefined, flag: string): number | undefined => {
      if (value === undefined) return undefined;
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer`);
      return n;
    };
    let selection: CaseSelection | undefined;
    if (o.fraction !== undefined) selection = { fraction: Number(o.fraction) };
    else if (o.cases !== undefined) selection = { count: positiveInteger(o.cases, '--cases')! };
    if (o['no-early-stop'] && (o['check-every'] !== undefined || o.patience !== undefined)) throw new UsageError('--check-every and --patience belong to early stopping: drop them or --no-early-stop');
    const stopping = o['no-early-stop']
      ? undefined
      : { every: positiveInteger(o['check-every'], '--check-every') ?? FINETUNE_CHECK_EVERY, patience: positiveInteger(o.patience, '--patience') ?? FINETUNE_PATIENCE };
    const named = { encoder: blocks(o['encoder-blocks'], '--encoder-blocks'), decoder: blocks(o['decoder-blocks'], '--decoder-blocks') };
    if (o['whole-network'] && (named.encoder !== undefined || named.decoder !== undefined)) throw new UsageError('--whole-network trains every block: drop --encoder-blocks / --decoder-blocks');
    const fromModel = !('scratch' in start) && !o['whole-network'] && named.encoder === undefined && named.decoder === undefined;
    const encoder = fromModel ? FINETUNE_ENCODER_BLOCKS : named.encoder;
    const decoder = named.decoder;
    const { settings, finish } = trainingSettings(o, { iterations: FINETUNE_ITERATIONS }, 'scratch' in start ? undefined : FINETUNE_LEARNING_RATE);
    const cases = await loadCases(required(o.data, '--data'), layoutOf(o.layout));
    const result = await finetuneModel({
      ...settings,
      start,
      cases,
      ...(selection ? { selection } : {}),
      ...(o['selection-seed'] !== undefined ? { selectionSeed: integer(o['selection-seed'], '--selection-seed')! } : {}),
      ...(encoder !== undefined ? { trainEncoderBlocks: encoder } : {}),
      ...(decoder !== undefined ? { trainDecoderBlocks: decoder } : {}),
      ...(stopping ? { earlyStopping: stopping } : {}),
    });
    finish();
    if (o.json) console.log(JSON.stringify({ ...trainingSummary(result), usedCases: result.usedCases, trainedBlocks: result.trainedBlocks, earlyStopping: result.record.earlyStopping ?? null }));
    else {
      const kept = result.record.earlyStopping;
      const length = kept ? `${result.record.iterations} iterations, kept the weights of iteration ${kept.bestIteration}${kept.stoppedEarly ? ' (stopped early)' : ''}` : `${result.record.iterations} iterations`;
      console.log(`saved ${settings.outDir} (model ${result.modelId.slice(0, 12)}; trained ${result.trainedBlocks.join(', ')} on ${result.usedCases.length} case(s), ${length})`);
    }
    return 0;
  },
};

const HARMONISE = ['none', 'histogram', 'nyul', 'cyclegan'] as const;

/** The harmonisation transform for --harmonise; CycleGAN uses a generator from `lgefed harmoniser train`. */
async function harmonisation(method: string, o: { reference?: string | boolean; harmoniser?: string | boolean }, model: string): Promise<ImageTransform | undefined> {
  if (method === 'none') return undefined;
  if (method === 'histogram' || method === 'nyul') {
    return intensityHarmonisation(method, await readReferenceProfile(typeof o.reference === 'string' ? o.reference : join(model, REFERENCE_PROFILE_FILE)));
  }
  if (method === 'cyclegan') {
    const saved = await loadCycleGanGenerator(required(o.harmoniser, '--harmoniser (with --harmonise cyclegan)'));
    return cycleGanTransform(saved.spec, saved.generator, { spacing: saved.spacing });
  }
  throw new UsageError(`--harmonise must be one of ${HARMONISE.join(', ')}`);
}

/** --cases: 'validation' (the ids the model's training record kept aside) or a comma-separated id list. */
function casesToScore(value: string, model: LoadedModel): Set<string> {
  if (value !== 'validation') return new Set(value.split(',').map((id) => id.trim()).filter((id) => id.length > 0));
  const notes = model.training?.notes as { split?: { validation?: unknown }; validationCases?: unknown } | undefined;
  const ids = notes?.split?.validation ?? notes?.validationCases;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new UsageError('--cases validation: the model\'s training record names no validation cases');
  return new Set(ids as string[]);
}

const SCALES_HELP = `--scales 0.833,1,1.167 also segments at those multiples of the model's working spacing and
averages the class probabilities on the input grid (one inference pass each; at most ${MAX_SCALES}).`;

/** --scales F,F,...: test-time scale factors, or undefined when not given. */
function scalesOf(value: unknown): readonly number[] | undefined {
  if (value === undefined) return undefined;
  const factors = String(value).split(',').map((f) => Number(f.trim()));
  try {
    return checkScales(factors);
  } catch (error) {
    throw new UsageError(`--scales: ${(error as Error).message}`);
  }
}

export const evaluate: Command = {
  name: 'evaluate',
  summary: 'score a model on a labelled dataset folder (Dice, HD95 per case and mean ± sd)',
  usage: `Usage: lgefed evaluate --data DIR [--model DIR] [--cases validation|ID,ID,...] [--layout auto|${LAYOUTS.join('|')}]
                       [--harmonise ${HARMONISE.join('|')}] [--reference PROFILE.json] [--harmoniser DIR] [--mirror] [--scales F,F,...] [--json]

--model defaults to the shipped EMIDEC model. --cases validation scores only the validation cases
the model's training record names (the shipped model's held-out EMIDEC cases); or list case ids. --harmonise histogram|nyul maps each image to the
reference intensity profile (default: the one shipped with the model); --harmonise cyclegan
translates each image with the generator --harmoniser DIR made by \`lgefed harmoniser train\`. ${SCALES_HELP} --json prints per case and
{dice: {bloodpool: {mean, sd, n}, myocardium: …}, hd95: …}.`,
  async run(args) {
    const o = options(args, { data: { type: 'string' }, model: { type: 'string' }, cases: { type: 'string' }, layout: { type: 'string' }, harmonise: { type: 'string' }, reference: { type: 'string' }, harmoniser: { type: 'string' }, mirror: { type: 'boolean' }, scales: { type: 'string' }, json: { type: 'boolean' } });
    const scales = scalesOf(o.scales);
    const modelDir = typeof o.model === 'string' ? o.model : PRETRAINED_MODEL_DIR;
    const method = typeof o.harmonise === 'string' ? o.harmonise : 'none';
    const transform = await harmonisation(method, o, modelDir);
    const model = await loadModelDirectory(modelDir);
    const wanted = typeof o.cases === 'string' ? casesToScore(o.cases, model) : undefined;
    const cases = (await loadCases(required(o.data, '--data'), layoutOf(o.layout))).filter((c) => c.label && (!wanted || wanted.has(c.id)));
    const missing = wanted ? [...wanted].filter((id) => !cases.some((c) => c.id === id)) : [];
    if (missing.length > 0) throw new UsageError(`--cases: no labelled case ${missing.join(', ')} in the data`);
    if (cases.length === 0) throw new UsageError('no labelled cases to evaluate');
    const report = await evaluateModel({
      model,
      cases,
      mirror: Boolean(o.mirror),
      ...(scales ? { scales } : {}),
      ...(transform ? { transform } : {}),
      onLog: (line) => (o.json ? undefined : console.error(line)),
      onCase: (r, done, total) => {
        if (o.json) return;
        console.error(`${done}/${total} ${r.id}: Dice blood pool ${r.scores.bloodpool.dice.toFixed(3)}, myocardium ${r.scores.myocardium.dice.toFixed(3)}`);
        if (r.warning) console.error(`warning: ${r.id}: ${r.warning}`);
      },
    });
    if (o.json) console.log(JSON.stringify({ model: report.modelId, harmonise: method, cases: report.cases.map((c) => ({ id: c.id, ...c.scores, ...(c.warning ? { warning: c.warning } : {}) })), ...report.summary }));
    else console.log(`model ${report.modelId.slice(0, 12)}, harmonise ${method}: ${diceText(report)}`);
    return 0;
  },
};

export const predict: Command = {
  name: 'predict',
  summary: 'segment one NIfTI image into a label map (1 blood pool, 2 myocardium)',
  usage: `Usage: lgefed predict --in IMAGE.nii.gz --out LABELS.nii.gz [--model DIR] [--mirror] [--scales F,F,...] [--json]

--model defaults to the shipped EMIDEC model. The label map has the input's voxel grid and affine
(voxel order as stored, whatever orientation inference worked in). ${SCALES_HELP}`,
  async run(args) {
    const o = options(args, { in: { type: 'string' }, out: { type: 'string' }, model: { type: 'string' }, mirror: { type: 'boolean' }, scales: { type: 'string' }, json: { type: 'boolean' } });
    const scales = scalesOf(o.scales);
    const output = required(o.out, '--out');
    if (!/\.nii(\.gz)?$/i.test(output)) throw new UsageError('--out must end in .nii or .nii.gz');
    const model = await modelFrom(o.model);
    const result = await predictNiftiFile(model, required(o.in, '--in'), output, { mirror: Boolean(o.mirror), ...(scales ? { scales } : {}), onLog: () => {} });
    if (o.json) console.log(JSON.stringify({ model: model.id, ...result }));
    else {
      console.log(`wrote ${result.output}: blood pool ${result.volumesMl.bloodpool.toFixed(1)} ml, myocardium ${result.volumesMl.myocardium.toFixed(1)} ml`);
      if (result.warning) console.error(`warning: ${result.warning}`);
    }
    return 0;
  },
};

export const modelCommands: readonly Command[] = [train, finetune, evaluate, predict];
