/**
 * model → predict (worker, 3D largest component) → metrics, over labelled cases. Image
 * harmonisation is a hook (an image transform applied before prediction), so histogram matching,
 * CycleGAN or anything later plugs in without this module knowing it.
 */
import type { BackendRequest } from '../engine/index.js';
import { evaluateCase, type CaseScores } from '../metrics/evaluate.js';
import { implausibleVolumeWarning } from '../metrics/plausibility.js';
import { Predictor } from '../model/predictor.js';
import type { Case, ImageVolume, LabelVolume } from '../types.js';
import { WorkflowError } from './errors.js';
import type { LoadedModel } from './model-files.js';
import { summariseScores, type ScoreSummary } from './summary.js';
import { DEFAULT_SPACING } from './train.js';

/** Maps a case's image before it is segmented (harmonisation); must keep dims and spacing. */
export type ImageTransform = (image: ImageVolume, c: Case) => ImageVolume | Promise<ImageVolume>;

export interface PredictionSettings {
  /** Test-time mirroring (4 passes averaged; default false). */
  readonly mirror?: boolean;
  /** Test-time scale averaging: multiples of the working spacing to segment at (see PredictOptions.scales; default [1]). */
  readonly scales?: readonly number[];
  /** 3D largest connected component per structure (default true). */
  readonly largestComponent?: boolean;
  readonly transform?: ImageTransform;
  readonly backend?: BackendRequest;
  readonly threads?: number;
  readonly onLog?: (line: string) => void;
}

export interface EvaluateOptions extends PredictionSettings {
  readonly model: LoadedModel;
  readonly cases: readonly Case[];
  /** Called after each case, e.g. for a progress line. */
  readonly onCase?: (result: CaseEvaluation, done: number, total: number) => void;
}

export interface CaseEvaluation {
  readonly id: string;
  readonly scores: CaseScores;
  /** Set when the predicted LV volume is implausible (see implausibleVolumeWarning). */
  readonly warning?: string;
}

export interface EvaluationReport {
  readonly modelId: string;
  readonly cases: CaseEvaluation[];
  readonly summary: ScoreSummary;
}

/**
 * Segments cases one after another in a prediction worker; yields each label volume on the case's
 * grid, with a warning when its LV volume is implausible.
 */
export async function* segmentCases(model: LoadedModel, cases: readonly Case[], settings: PredictionSettings = {}): AsyncGenerator<{ case: Case; label: LabelVolume; warning?: string }> {
  const { predictor } = await Predictor.start(model.spec, model.weights, {
    ...(settings.backend ? { backend: settings.backend } : {}),
    ...(settings.threads ? { threads: settings.threads } : {}),
    ...(settings.onLog ? { onLog: settings.onLog } : {}),
  });
  const spacing = model.training?.spacing ?? DEFAULT_SPACING;
  try {
    for (const c of cases) {
      const image = settings.transform ? await settings.transform(c.image, c) : c.image;
      if (image.dims.join() !== c.image.dims.join()) throw new WorkflowError(`the image transform changed case ${c.id}'s dims`);
      const label = await predictor.predict(image, {
        targetSpacing: [spacing[0], spacing[1]],
        mirror: settings.mirror ?? false,
        ...(settings.scales ? { scales: settings.scales } : {}),
        largestComponent: settings.largestComponent ?? true,
      });
      const warning = implausibleVolumeWarning(label);
      yield { case: c, label, ...(warning ? { warning } : {}) };
    }
  } finally {
    await predictor.close();
  }
}

export async function evaluateModel(options: EvaluateOptions): Promise<EvaluationReport> {
  if (options.cases.length === 0) throw new WorkflowError('no cases to evaluate');
  const unlabelled = options.cases.filter((c) => !c.label).map((c) => c.id);
  if (unlabelled.length > 0) throw new WorkflowError(`evaluation needs labels; these cases have none: ${unlabelled.join(', ')}`);
  const results: CaseEvaluation[] = [];
  for await (const { case: c, label, warning } of segmentCases(options.model, options.cases, options)) {
    const result: CaseEvaluation = { id: c.id, scores: evaluateCase(label, c.label!), ...(warning ? { warning } : {}) };
    results.push(result);
    options.onCase?.(result, results.length, options.cases.length);
  }
  return { modelId: options.model.id, cases: results, summary: summariseScores(results.map((r) => r.scores)) };
}
