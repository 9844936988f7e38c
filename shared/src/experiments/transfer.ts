/**
 * Fig. 10 / Table 5 at a real new centre: leave one patient out at the target site; the pretrained
 * model is scored as it is, fine-tuned on 1 or 2 of the remaining patients (first k encoder blocks,
 * or the whole network), and compared with a model trained from scratch on the same patients.
 * Every arm of a fold trains on the same seeded patients and is scored on the left-out one; with
 * `curveEvery`, also along its training (the curves the fine-tuning defaults are chosen from).
 */
import type { NamedTensor } from '../model/weights.js';
import { STRUCTURES, type Case, type Structure } from '../types.js';
import { finetuneModel } from '../workflows/finetune.js';
import { loadModelDirectory, type LoadedModel } from '../workflows/model-files.js';
import { PRETRAINED_MODEL_DIR } from '../workflows/pretrained.js';
import { selectCases } from '../workflows/split.js';
import { meanSd } from '../workflows/summary.js';
import { scoreArm, type ComputeOptions } from './arms.js';
import { ArmCounter, computeFor, site, type RunContext } from './context.js';
import { ExperimentError } from './errors.js';

/** One arm's scores on one left-out patient. */
export interface TransferFoldRow {
  readonly fold: string;
  readonly arm: string;
  /** Patients trained on (0 for the pretrained model as it is). */
  readonly cases: number;
  readonly trainedOn: readonly string[];
  /** Iterations behind the scored weights (early stopping keeps its best check; 0 = pretrained as is). */
  readonly keptIteration: number;
  readonly structure: Structure;
  readonly dice: number;
  /** null when exactly one of prediction and truth is empty. */
  readonly hd95: number | null;
}

/** One arm's score on one left-out patient after `iteration` iterations (0: the pretrained start). */
export interface TransferCurvePoint {
  readonly fold: string;
  readonly arm: string;
  readonly cases: number;
  readonly iteration: number;
  readonly structure: Structure;
  readonly dice: number;
}

/** A curve point over all folds. */
export interface TransferCurveRow {
  readonly arm: string;
  readonly cases: number;
  readonly iteration: number;
  readonly structure: Structure;
  readonly testSite: string;
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
}

/** An arm over all folds: mean ± sd of the per-fold scores. */
export interface TransferRow {
  readonly arm: string;
  readonly cases: number;
  readonly structure: Structure;
  readonly testSite: string;
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
  /** Over the folds with a defined HD95; null when none has one. */
  readonly hd95: { readonly mean: number; readonly sd: number; readonly n: number } | null;
}

export interface TransferResults {
  readonly site: string;
  readonly pretrained: string;
  readonly folds: TransferFoldRow[];
  readonly rows: TransferRow[];
  /** With `curveEvery`: per fold, and mean ± sd over folds. */
  readonly curvePoints?: TransferCurvePoint[];
  readonly curves?: TransferCurveRow[];
}

/** Arm names in figure order: encoder k for each k, the whole network, scratch. */
export function transferArms(encoderBlocks: readonly number[]): string[] {
  return [...encoderBlocks.map((k) => `encoder 1-${k}`), 'whole network', 'scratch'];
}

export async function runTransferExperiment(context: RunContext): Promise<TransferResults> {
  const { config } = context;
  const { site: siteName, pretrained: pretrainedDir, trainCases, encoderBlocks, iterations, curveEvery } = config.transfer;
  const target = site(context, siteName);
  const patients = [...target.pool, ...target.test].sort((a, b) => a.id.localeCompare(b.id));
  const most = Math.max(...trainCases);
  if (patients.length < most + 1) throw new ExperimentError(`transfer: site ${siteName} has ${patients.length} patients; training on ${most} and testing on one needs ${most + 1}`);
  const pretrained = await loadModelDirectory(pretrainedDir ?? PRETRAINED_MODEL_DIR);
  for (const k of encoderBlocks) {
    if (k > pretrained.spec.stages) throw new ExperimentError(`transfer.encoderBlocks: ${k} exceeds the ${pretrained.spec.stages} encoder blocks of the pretrained U-Net`);
  }
  const arms = transferArms(encoderBlocks);
  const counter = new ArmCounter(context, patients.length * trainCases.length * arms.length);
  const folds: TransferFoldRow[] = [];
  const curvePoints: TransferCurvePoint[] = [];
  const curvePoint = (fold: Case, arm: string, cases: number, iteration: number, scores: Awaited<ReturnType<typeof scoreArm>>): void => {
    for (const structure of STRUCTURES) curvePoints.push({ fold: fold.id, arm, cases, iteration, structure, dice: scores.cases[0]!.scores[structure].dice });
  };
  const record = (fold: Case, arm: string, trainedOn: readonly Case[], keptIteration: number, scores: Awaited<ReturnType<typeof scoreArm>>): void => {
    const c = scores.cases[0]!;
    for (const structure of STRUCTURES) {
      folds.push({ fold: fold.id, arm, cases: trainedOn.length, trainedOn: trainedOn.map((t) => t.id), keptIteration, structure, dice: c.scores[structure].dice, hd95: c.scores[structure].hd95Mm });
    }
  };
  for (const [index, left] of patients.entries()) {
    const asIs = await scoreArm(pretrained, [left], undefined, computeFor(context, `${left.id}: pretrained as is`));
    record(left, 'pretrained', [], 0, asIs);
    const rest = patients.filter((p) => p !== left);
    for (const n of trainCases) {
      const used = selectCases(rest, { count: n }, config.splitSeed + index);
      const train = async (arm: string, start: LoadedModel | 'scratch', trainEncoderBlocks: number | undefined): Promise<void> => {
        const compute: ComputeOptions = counter.next(`${left.id} left out, ${n} patient(s): ${arm}`);
        const snapshots: { iteration: number; weights: NamedTensor[] }[] = [];
        const result = await finetuneModel({
          start: start === 'scratch' ? { scratch: pretrained.spec } : start,
          cases: used,
          ...(trainEncoderBlocks !== undefined ? { trainEncoderBlocks } : {}),
          augmentation: config.training.augmentation,
          batchSize: config.training.batchSize,
          iterations: start === 'scratch' ? (config.transfer.scratchIterations ?? iterations) : iterations,
          learningRate: start === 'scratch' ? config.training.learningRate : (config.transfer.learningRate ?? config.training.learningRate),
          seed: config.training.seed,
          ...(config.transfer.earlyStopping ? { earlyStopping: config.transfer.earlyStopping } : {}),
          ...(curveEvery ? { snapshotEvery: curveEvery, onSnapshot: (iteration: number, weights: NamedTensor[]) => snapshots.push({ iteration, weights }) } : {}),
          ...(context.backend ? { backend: context.backend } : {}),
          ...(context.signal ? { signal: context.signal } : {}),
          ...(compute.onTraining ? { onProgress: compute.onTraining } : {}),
          onLog: () => undefined,
        });
        const model: LoadedModel = { spec: result.spec, weights: result.weights, id: result.modelId, training: result.record };
        const kept = result.record.earlyStopping?.bestIteration ?? result.record.iterations;
        const scores = await scoreArm(model, [left], undefined, compute);
        record(left, arm, used, kept, scores);
        if (curveEvery && start !== 'scratch') curvePoint(left, arm, n, 0, asIs);
        for (const { iteration, weights } of snapshots) {
          // The kept weights are that iteration's snapshot: scored already.
          curvePoint(left, arm, n, iteration, iteration === kept ? scores : await scoreArm({ ...model, weights, id: `${model.id}@${iteration}` }, [left], undefined, compute));
        }
      };
      for (const k of encoderBlocks) await train(`encoder 1-${k}`, pretrained, k);
      await train('whole network', pretrained, undefined);
      await train('scratch', 'scratch', undefined);
    }
  }
  return {
    site: siteName,
    pretrained: pretrained.id,
    folds,
    rows: summariseFolds(folds, siteName),
    ...(curveEvery ? { curvePoints, curves: summariseCurves(curvePoints, siteName) } : {}),
  };
}

/** Mean ± sd over folds per arm, patient count and structure. */
export function summariseFolds(folds: readonly TransferFoldRow[], testSite: string): TransferRow[] {
  return groupedBy(folds, (r) => [r.arm, r.cases, r.structure]).map((rows) => {
    const { arm, cases, structure } = rows[0]!;
    const dice = meanSd(rows.map((r) => r.dice));
    const distances = rows.map((r) => r.hd95).filter((d): d is number => d !== null);
    return { arm, cases, structure, testSite, ...dice, hd95: distances.length > 0 ? meanSd(distances) : null };
  });
}

/** Mean ± sd over folds per arm, patient count, iteration and structure. */
export function summariseCurves(points: readonly TransferCurvePoint[], testSite: string): TransferCurveRow[] {
  return groupedBy(points, (p) => [p.arm, p.cases, p.iteration, p.structure]).map((group) => {
    const { arm, cases, iteration, structure } = group[0]!;
    return { arm, cases, iteration, structure, testSite, ...meanSd(group.map((p) => p.dice)) };
  });
}

/** Items grouped by the values `key` gives, groups in order of first appearance. */
function groupedBy<T>(items: readonly T[], key: (item: T) => readonly (string | number)[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item).join('\u0000');
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}
