/**
 * `npm run pretrain`: reproduces the shipped EMIDEC-pretrained model (shared/models/emidec-unet-lite).
 * Loads the EMIDEC PNG slices, makes the fixed seeded case-level split, trains the `lite` U-Net with
 * `paper` augmentation (Adam 1e-3), scores the validation cases (3D Dice after LCC) with float32 and
 * with float16-rounded weights, and writes the float16 model with its training record.
 *
 * Options: --data DIR (default ../shared/data/emidec-lge-slices) --out DIR (default
 * shared/models/emidec-unet-lite) --iterations N (default 1500) --batch N (default 8)
 * --max-minutes M (stop early, keeping the weights reached) --preset lite|paper|<architecture name,
 * e.g. lite:baseFeatures=24,maxFeatures=384> --seed S
 * --split-seed S --resume DIR (start from a model directory, e.g. a checkpoint; Adam restarts; when
 * --preset names a wider network of the same stages, the weights are widened so that it starts as
 * the same function: see model/widen.ts)
 * --resumed-iterations N (how far that checkpoint had trained, for the record) --checkpoints DIR
 * (default .lgefed/pretrain-<preset>; every 25 iterations, and the float32 final model)
 * --schedule poly|constant (learning rate over the planned iterations; default poly, nnU-Net's decay)
 * --lr R (peak learning rate, default 1e-3)
 * --continue DIR (a resumable checkpoint, e.g. <checkpoints>/latest: continues that run exactly —
 * its planned iterations, rate, schedule and seed, Adam's moments, the next batches; a run stopped by
 * --max-minutes leaves one, so a long run spans sessions) --compact-checkpoint DIR (when --max-minutes
 * stops the run, also write its checkpoint there in the compact form a commit can carry).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadDataset } from '@lgefed/shared/imaging/index';
import { architectureFromName, architectureName } from '@lgefed/shared/model/architecture-name';
import { canonicalJson, compactCheckpoint, isLearningRateSchedule, loadCheckpoint, widenWeights } from '@lgefed/shared/model/index';
import {
  cohortProfile,
  evaluateModel,
  writeReferenceProfile,
  loadModelDirectory,
  roundToFloat16,
  saveModelDirectory,
  splitCases,
  trainSegmentation,
  type EvaluationReport,
  type LoadedModel,
} from '@lgefed/shared/workflows/index';

const SPLIT = { validationFraction: 0.2, seed: 20240 };

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

function log(line: string): void {
  process.stdout.write(`[${new Date().toISOString()}] ${line}\n`);
}

function diceLine(report: EvaluationReport): string {
  const { dice } = report.summary;
  return `blood pool ${dice.bloodpool.mean.toFixed(4)} ± ${dice.bloodpool.sd.toFixed(4)}, myocardium ${dice.myocardium.mean.toFixed(4)} ± ${dice.myocardium.sd.toFixed(4)}`;
}

async function main(): Promise<void> {
  const data = resolve(option('data', '../shared/data/emidec-lge-slices'));
  const out = resolve(option('out', 'shared/models/emidec-unet-lite'));
  // A preset or any architecture name, e.g. lite:baseFeatures=24,maxFeatures=384 (a wider lite).
  const architecture = option('preset', 'lite');
  const namedSpec = architectureFromName(architecture);
  const iterations = Number(option('iterations', '1500'));
  const batchSize = Number(option('batch', '8'));
  const maxMinutes = option('max-minutes', '');
  const seed = Number(option('seed', '1'));
  const learningRate = Number(option('lr', '1e-3'));
  if (!(learningRate > 0)) throw new Error(`--lr must be positive, got ${learningRate}`);
  const schedule = option('schedule', 'poly');
  if (!isLearningRateSchedule(schedule)) throw new Error(`unknown learning-rate schedule ${schedule}`);
  const splitSeed = Number(option('split-seed', String(SPLIT.seed)));
  const resume = option('resume', '');
  // How far the starting weights had trained: as the caller states it, else the total its record
  // keeps (a model trained in legs records its last leg's iterations and the running total).
  const statedIterations = option('resumed-iterations', '');

  const resumed = (model: LoadedModel): number =>
    statedIterations ? Number(statedIterations) : Number((model.training?.notes as { totalIterations?: number } | undefined)?.totalIterations ?? model.training?.iterations ?? 0);

  const dataset = await loadDataset(data, { layout: 'png-slices' });
  if (dataset.cases.length === 0) throw new Error(`no cases in ${data}`);
  const split = splitCases(
    dataset.cases.map((c) => c.id),
    { validationFraction: SPLIT.validationFraction, seed: splitSeed },
  );
  const byId = new Map(dataset.cases.map((c) => [c.id, c]));
  const train = split.train.map((id) => byId.get(id)!);
  const validation = split.validation.map((id) => byId.get(id)!);
  log(`${dataset.cases.length} cases (${dataset.problems.length} problems); train ${train.length}, validation ${validation.length}: ${split.validation.join(' ')}`);

  const continued = option('continue', '') ? await loadCheckpoint(resolve(option('continue', ''))) : undefined;
  if (continued) log(`continuing a run at iteration ${continued.state.iteration}/${continued.plan.iterations} (seed ${continued.plan.seed}, ${continued.plan.learningRateSchedule} rate from ${continued.plan.learningRate})`);
  const spec = continued?.model.spec ?? namedSpec;
  const start: LoadedModel | undefined = resume ? await loadModelDirectory(resume) : undefined;
  const widened = start !== undefined && !continued && canonicalJson(start.spec) !== canonicalJson(spec);
  const startWeights = start && (widened ? widenWeights(start.spec, start.weights, spec, seed) : start.weights);
  if (widened) log(`widened ${resume} (${architectureName(start.spec)}) to ${architecture}: the same function, new channels seeded by ${seed}`);
  const checkpointDir = resolve(option('checkpoints', `.lgefed/pretrain-${architecture.replace(/[^\w-]+/g, '-')}`));
  await mkdir(checkpointDir, { recursive: true });
  let lastReport = 0;
  const trained = await trainSegmentation({
    spec,
    cases: train,
    augmentation: 'paper',
    batchSize,
    ...(continued
      ? { iterations: continued.plan.iterations, learningRate: continued.plan.learningRate, learningRateSchedule: continued.plan.learningRateSchedule, seed: continued.plan.seed, initialWeights: continued.model.weights, startedFrom: continued.model.id, resume: continued.state }
      : { iterations, learningRate, learningRateSchedule: schedule, seed, ...(start && startWeights ? { initialWeights: startWeights, startedFrom: start.id } : {}) }),
    ...(maxMinutes ? { maxSeconds: Number(maxMinutes) * 60 } : {}),
    checkpointEvery: 25,
    checkpointDir,
    onLog: log,
    onProgress: (p) => {
      if (p.iteration - lastReport >= 5 || p.iteration === p.iterations) {
        lastReport = p.iteration;
        log(`iteration ${p.iteration}/${p.iterations} loss ${p.loss.toFixed(4)} ${p.slicesPerSecond.toFixed(2)} slices/s eta ${(p.etaSeconds / 60).toFixed(1)} min`);
      }
    },
    notes: { data: 'EMIDEC (CC BY-NC-SA 4.0), 2D PNG slices', split: { ...SPLIT, seed: splitSeed, validation: split.validation } },
  });
  log(`trained ${trained.record.iterations} iterations in ${(trained.record.seconds / 60).toFixed(1)} min${trained.stoppedByTimeLimit ? ' (time limit)' : ''}`);

  // Kept before scoring, so a failure while scoring never loses the training run.
  await saveModelDirectory(join(checkpointDir, 'final'), spec, trained.weights, { training: trained.record });
  const compactTo = option('compact-checkpoint', '');
  if (compactTo && trained.stoppedByTimeLimit) log(`compact checkpoint ${resolve(compactTo)} (model id ${await compactCheckpoint(join(checkpointDir, 'latest'), resolve(compactTo))})`);
  const full: LoadedModel = { spec, weights: trained.weights, id: trained.modelId, training: trained.record };
  const float32 = await evaluateModel({ model: full, cases: validation, onLog: log });
  log(`validation float32: ${diceLine(float32)}`);
  const halfWeights = roundToFloat16(trained.weights);
  const half: LoadedModel = { ...full, weights: halfWeights };
  const float16 = await evaluateModel({ model: half, cases: validation, onLog: log });
  log(`validation float16: ${diceLine(float16)}`);

  const record = {
    ...trained.record,
    notes: {
      ...trained.record.notes,
      validation: { float32: float32.summary, float16: float16.summary, cases: float16.cases },
      stoppedByTimeLimit: trained.stoppedByTimeLimit,
      plannedIterations: iterations,
      ...(start ? { resumedFrom: start.id, resumedIterations: resumed(start), totalIterations: resumed(start) + trained.record.iterations } : {}),
      ...(widened ? { widenedFrom: architectureName(start.spec) } : {}),
    },
  };
  // Saving replaces the directory; the hand-written model card is kept.
  const card = await readFile(join(out, 'MODEL_CARD.md'), 'utf8').catch(() => undefined);
  const id = await saveModelDirectory(out, spec, halfWeights, { dtype: 'float16', training: record });
  if (card !== undefined) await writeFile(join(out, 'MODEL_CARD.md'), card);
  await writeReferenceProfile(out, cohortProfile(train));
  await writeFile(join(checkpointDir, 'losses.json'), `${JSON.stringify(trained.losses)}\n`);
  log(`saved ${out} (model id ${id})`);
  console.log(JSON.stringify({ modelId: id, iterations: record.iterations, seconds: Math.round(record.seconds), float32: float32.summary.dice, float16: float16.summary.dice }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
