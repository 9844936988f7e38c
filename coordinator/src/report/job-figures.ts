import {
  siteColours,
  type CentreComparisonRow,
  type Colours,
  type DiceCellRow,
  type FigureData,
  type FinetunePointRow,
  type FinetuneSummaryRow,
  type HistogramBinRow,
  type LearningPointRow,
  type ParticipationRow,
  type SiteDistanceRow,
} from '@lgefed/shared/plots/figures';
import type { JobRecord, JobStore, Json, RoundRecord } from '../store/jobs.js';
import type { TestTimePasses } from '@lgefed/shared/model/test-time-scales';
import type { CentreComparison } from '../workflow/comparison.js';
import type { CrossSiteMatrix, MatrixRow } from '../workflow/evaluate.js';
import type { SiteDistance } from '../workflow/harmonisation-check.js';
import type { MetricWithInterval } from '../workflow/statistics.js';

/** Everything a report or the console's results view shows for one job. */
export interface JobFigures {
  readonly job: Pick<JobRecord, 'id' | 'name' | 'kind' | 'status' | 'failure' | 'submittedBy' | 'createdAt' | 'finishedAt'>;
  readonly rounds: readonly Pick<RoundRecord, 'roundNo' | 'name' | 'status'>[];
  /** Sites left out of a round, with the reason, over the whole job. */
  readonly excluded: readonly { readonly round: string; readonly site: string; readonly reason: string | null }[];
  /** The model a training job made, and the evaluations that scored it (newest last). */
  readonly model: { readonly hash: string; readonly evaluatedIn: readonly { readonly id: string; readonly name: string }[] } | null;
  readonly figures: readonly FigureData[];
  /** Each site's colour, the same in every chart of every job. */
  readonly colours: Colours;
}

interface Histogram {
  readonly low: number;
  readonly high: number;
  readonly counts: readonly number[];
}

type Outcome = { readonly [key: string]: Json };

const completed = (rounds: readonly RoundRecord[], name: string) => rounds.find((r) => r.name === name && r.status === 'completed');
const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

function diceCells(matrix: CrossSiteMatrix): DiceCellRow[] {
  return matrix.rows.flatMap((row) =>
    matrix.structures.flatMap((structure) =>
      Object.entries(row.sites).flatMap(([testSite, cells]) => {
        const c: MetricWithInterval = cells[structure];
        return finite(c.mean) ? [{ structure, model: row.model, testSite, mean: c.mean, sd: c.sd, n: c.n, ciLow: c.ci95[0], ciHigh: c.ci95[1] }] : [];
      }),
    ),
  );
}

function comparisonRows(comparison: CentreComparison): CentreComparisonRow[] {
  return Object.entries(comparison).flatMap(([structure, s]) =>
    s.perSite.flatMap((site) => [
      ...(site.ownModel ? [{ structure, site: site.site, model: site.ownModel.model, kind: 'own single-centre' as const, mean: site.ownModel.mean, gainOverOwn: null }] : []),
      ...site.multiCentre.map((m) => ({ structure, site: site.site, model: m.model, kind: 'multi-centre' as const, mean: m.mean, gainOverOwn: m.gainOverOwn })),
    ]),
  );
}

/** The series of a learning curve that stands for the whole federation. */
export const FEDERATION_SERIES = 'all sites (case-weighted)';

/**
 * Per federated round, each participant's reported training figures (final loss, …), and the
 * federation's: each metric averaged over the participants, weighted by their training cases as
 * FedAvg weights their models.
 */
function federatedCurves(rounds: readonly RoundRecord[]): LearningPointRow[] {
  return rounds
    .filter((r) => r.status === 'completed' && /^federated-\d+$/.test(r.name))
    .flatMap((r) => {
      const step = Number(r.name.slice('federated-'.length));
      const participants = ((r.outcome as Outcome)['participants'] ?? []) as { site: string; numExamples: number; metrics: Record<string, Json> }[];
      const rows = participants.flatMap((p) =>
        Object.entries(p.metrics)
          .filter(([metric, value]) => metric !== 'epochs' && typeof value === 'number')
          .map(([metric, value]) => ({ series: p.site, step, metric, value: value as number, weight: p.numExamples })),
      );
      const weighted = [...new Set(rows.map((x) => x.metric))].flatMap((metric) => {
        const of = rows.filter((x) => x.metric === metric);
        const total = of.reduce((n, x) => n + x.weight, 0);
        return of.length > 1 && total > 0 ? [{ series: FEDERATION_SERIES, step, metric, value: of.reduce((s, x) => s + x.value * x.weight, 0) / total }] : [];
      });
      return [...rows.map(({ weight: _, ...row }) => row), ...weighted];
    });
}

/** Which sites trained in each federated round, and which were left out. */
function participation(rounds: readonly RoundRecord[], siteName: (id: string) => string): ParticipationRow[] {
  return rounds
    .filter((r) => r.status === 'completed' && /^federated-\d+$/.test(r.name))
    .flatMap((r) => {
      const round = Number(r.name.slice('federated-'.length));
      const outcome = r.outcome as Outcome;
      const trained = ((outcome['participants'] ?? []) as { site: string }[]).map((p) => ({ round, site: p.site, status: 'trained' as const }));
      const excluded = ((outcome['excluded'] ?? []) as { site?: string; siteId?: string }[]).map((e) => ({ round, site: e.site ?? siteName(e.siteId ?? ''), status: 'excluded' as const }));
      return [...trained, ...excluded];
    });
}

interface TrainOutcome {
  readonly model: string;
  readonly siteId: string;
  readonly metrics: { readonly epochs?: number; readonly loss?: number; readonly lossCurve?: readonly number[] };
}

/** Completed evaluations (their own or a FedAvg's last round) that scored the model, oldest first. */
function evaluationsOf(jobs: JobStore, hash: string): { job: JobRecord; row: MatrixRow }[] {
  return jobs.jobs('completed').flatMap((job) => {
    const matrix = completed(jobs.rounds(job.id), 'evaluate')?.outcome as unknown as CrossSiteMatrix | undefined;
    const row = matrix?.rows.find((r) => r.hash === hash);
    return row ? [{ job, row }] : [];
  });
}

/** A training job: the site's loss per epoch, and its model's test Dice from the latest evaluation that scored it. */
function trainFigures(jobs: JobStore, rounds: readonly RoundRecord[], siteName: (id: string) => string): { figures: FigureData[]; model: JobFigures['model'] } {
  const round = rounds.find((r) => r.status === 'completed');
  if (!round) return { figures: [], model: null };
  const outcome = round.outcome as unknown as TrainOutcome;
  const site = siteName(outcome.siteId);
  const curve = outcome.metrics.lossCurve ?? (finite(outcome.metrics.loss) ? [outcome.metrics.loss] : []);
  const first = outcome.metrics.lossCurve ? 1 : (outcome.metrics.epochs ?? 1);
  const figures: FigureData[] = [];
  if (curve.length > 0) {
    const rows = curve.map((value, i) => ({ series: site, step: first + i, metric: 'training loss', value }));
    figures.push({ type: 'learning-curve', id: 'training-loss', title: 'Training loss', caption: `The loss at ${site} after each of its ${rows.at(-1)!.step} epoch(s).`, rows, stepTitle: 'epoch' });
  }
  const evaluations = evaluationsOf(jobs, outcome.model);
  const latest = evaluations.at(-1);
  if (latest) {
    const matrix: CrossSiteMatrix = { structures: Object.keys(latest.row.pooled) as CrossSiteMatrix['structures'], rows: [latest.row], excluded: [] };
    figures.push({ type: 'cross-site-dice', id: 'model-dice', title: 'Test Dice of the trained model', caption: `Mean test Dice of this job's model at each site, from “${latest.job.name}”.`, rows: diceCells(matrix) });
  }
  return { figures, model: { hash: outcome.model, evaluatedIn: evaluations.map(({ job }) => ({ id: job.id, name: job.name })) } };
}

function histogramRows(source: string, h: Histogram): HistogramBinRow[] {
  const mass = h.counts.reduce((a, b) => a + b, 0);
  const width = (h.high - h.low) / h.counts.length;
  return mass > 0 ? h.counts.map((count, i) => ({ source, intensity: h.low + i * width, fraction: count / mass })) : [];
}

function harmonisationFigures(job: JobRecord, jobs: JobStore, rounds: readonly RoundRecord[], siteName: (id: string) => string): FigureData[] {
  const round = completed(rounds, 'harmonisation-check');
  if (!round) return [];
  const outcome = round.outcome as unknown as { flagWasserstein: number; sites: SiteDistance[] };
  const distances: SiteDistanceRow[] = outcome.sites.map((d) => ({ site: d.site, wasserstein1: d.wasserstein1, jensenShannon: d.jensenShannon, flagged: d.flagged }));
  const reference = ((job.spec as Outcome)['reference'] as unknown as { histogram: Histogram }).histogram;
  const histograms = [
    ...histogramRows('reference', reference),
    ...jobs.roundResults(job.id, round.roundNo).flatMap((r) => histogramRows(siteName(r.siteId), (r.metrics as unknown as { histogram: Histogram }).histogram)),
  ];
  return [
    {
      type: 'harmonisation-distances',
      id: 'harmonisation-distances',
      title: 'Distance to the reference intensity distribution',
      caption: `Wasserstein-1 distance of each site's (differentially private) intensity histogram to the reference; sites beyond ${outcome.flagWasserstein} (dashed) need harmonising.`,
      rows: distances,
      flagWasserstein: outcome.flagWasserstein,
    },
    { type: 'intensity-histograms', id: 'intensity-histograms', title: 'Normalised intensity histograms', caption: 'Each site’s released histogram against the reference (dashed).', rows: histograms },
  ];
}

interface VariantOutcome {
  readonly variant: { readonly dataFraction: number; readonly trainEncoderBlocks: number | null };
  readonly pooled: Record<string, MetricWithInterval>;
}

/** How the job's sites segmented when they scored, as a caption's last sentence; '' for one pass. */
function scoringNote(job: JobRecord): string {
  const inference = (job.spec as { inference?: TestTimePasses | null } | null)?.inference;
  const passes = [inference?.mirror ? 'test-time mirroring' : null, inference?.scales ? `scale averaging (${inference.scales.join(', ')} × the working spacing)` : null].filter((p) => p !== null);
  return passes.length > 0 ? ` Sites scored with ${passes.join(' and ')}.` : '';
}

function finetuneFigures(job: JobRecord, rounds: readonly RoundRecord[]): FigureData[] {
  const points: FinetunePointRow[] = rounds
    .filter((r) => r.status === 'completed')
    .flatMap((r) => {
      const o = r.outcome as unknown as VariantOutcome;
      const variant = o.variant.trainEncoderBlocks === null ? 'scratch' : `k=${o.variant.trainEncoderBlocks}`;
      return Object.entries(o.pooled).flatMap(([structure, c]) =>
        finite(c.mean) ? [{ structure, variant, dataFraction: o.variant.dataFraction, mean: c.mean, ciLow: c.ci95[0], ciHigh: c.ci95[1] }] : [],
      );
    });
  const figures: FigureData[] = [];
  if (points.length > 0) {
    figures.push({ type: 'finetune-curves', id: 'finetune-curves', title: 'Fine-tuning: Dice vs training data', caption: `Pooled test Dice of each variant (k = trainable encoder blocks; scratch dashed) against the fraction of training cases, with 95% CI.${scoringNote(job)}`, rows: points });
  }
  const table = (job.summary as Outcome | null)?.['table'] as
    | { dataFraction: number; structure: string; scratch: number | null; best: { trainEncoderBlocks: number; mean: number; gainOverScratch: number | null } | null }[]
    | undefined;
  if (table) {
    const rows: FinetuneSummaryRow[] = table.map((r) => ({
      dataFraction: r.dataFraction,
      structure: r.structure,
      scratch: r.scratch,
      bestVariant: r.best ? `k=${r.best.trainEncoderBlocks}` : null,
      best: r.best?.mean ?? null,
      gainOverScratch: r.best?.gainOverScratch ?? null,
    }));
    figures.push({ type: 'finetune-summary', id: 'finetune-summary', title: 'Best fine-tune vs scratch (Table 5)', caption: 'Per data fraction and structure: scratch Dice, the best fine-tuned variant and its gain.', rows });
  }
  return figures;
}

function matrixFigures(matrix: CrossSiteMatrix | undefined, comparison: CentreComparison | null | undefined, note: string): FigureData[] {
  const figures: FigureData[] = [];
  if (matrix) {
    figures.push({ type: 'cross-site-dice', id: 'cross-site-dice', title: 'Cross-site Dice', caption: `Mean test Dice of each model (rows: where it was trained) at each site (columns), per structure.${note}`, rows: diceCells(matrix) });
  }
  if (comparison) {
    figures.push({ type: 'centre-comparison', id: 'centre-comparison', title: 'Single- vs multi-centre, per site', caption: "At each test site: the site's own single-centre model against each multi-centre model.", rows: comparisonRows(comparison) });
  }
  return figures;
}

/**
 * The figures of a job from its stored rounds (and, for the harmonisation check, its sites'
 * released histograms): what exists so far, so a running job shows its completed parts.
 */
export function jobFigures(jobs: JobStore, jobId: string, siteName: (id: string) => string, siteNames: readonly string[] = []): JobFigures {
  const job = jobs.job(jobId);
  const rounds = jobs.rounds(jobId);
  const summary = job.summary as Outcome | null;
  const figures: FigureData[] = [];
  let model: JobFigures['model'] = null;
  switch (job.kind) {
    case 'evaluate':
    case 'fedavg': {
      const curves = federatedCurves(rounds);
      if (curves.length > 0) {
        const taking = participation(rounds, siteName);
        figures.push({ type: 'participation', id: 'participation', title: 'Participation per round', caption: 'Sites whose update went into each federated round, and sites left out of it (the reasons are listed above).', rows: taking });
        figures.push({ type: 'learning-curve', id: 'learning-curves', title: 'Learning curves', caption: 'Each site’s final local training figures per federated round, and their average weighted by training cases (how FedAvg weights the sites’ models).', rows: curves, stepTitle: 'federated round' });
      }
      const evaluation = completed(rounds, 'evaluate');
      figures.push(...matrixFigures(evaluation?.outcome as unknown as CrossSiteMatrix | undefined, summary?.['comparison'] as unknown as CentreComparison | null | undefined, scoringNote(job)));
      break;
    }
    case 'harmonisation-check':
      figures.push(...harmonisationFigures(job, jobs, rounds, siteName));
      break;
    case 'finetune':
      figures.push(...finetuneFigures(job, rounds));
      break;
    case 'train':
    case 'pretrain': {
      const trained = trainFigures(jobs, rounds, siteName);
      figures.push(...trained.figures);
      model = trained.model;
      break;
    }
  }
  const excluded = rounds.flatMap((r) => {
    // Completed rounds name sites; a failed round's outcome still holds site ids.
    const list = ((r.outcome as Outcome | null)?.['excluded'] ?? []) as { site?: string; siteId?: string; reason: string | null }[];
    return Array.isArray(list) ? list.map((e) => ({ round: r.name, site: e.site ?? siteName(e.siteId ?? ''), reason: e.reason })) : [];
  });
  const { id, name, kind, status, failure, submittedBy, createdAt, finishedAt } = job;
  return { job: { id, name, kind, status, failure, submittedBy, createdAt, finishedAt }, rounds: rounds.map(({ roundNo, name, status }) => ({ roundNo, name, status })), excluded, model, figures, colours: siteColours(siteNames) };
}
