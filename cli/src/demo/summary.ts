/**
 * The demo's summary: every job's state, every site's participation, the Dice figures of the study
 * (cross-site matrix, fine-tuning vs scratch, federated vs single-centre) and the sizes they rest
 * on. Printed as tables and, with `--summary FILE`, written as JSON.
 */
import type { Structure } from '@lgefed/shared/types';
import { table } from '../commands/admin.js';
import { exclusions, participants, type FinishedJob } from './jobs.js';
import type { DemoSizes } from './sizes.js';
import type { StudyJob, StudyStep } from './study.js';

export interface JobSummary {
  readonly step: StudyStep;
  readonly label: string;
  readonly id: string;
  readonly kind: string;
  readonly status: FinishedJob['status'];
  readonly failure: string | null;
  readonly sites: readonly string[];
  readonly excluded: readonly { readonly site: string; readonly round: string; readonly reason: string }[];
}

export interface DiceCell {
  readonly model: string;
  readonly site: string;
  readonly n: number;
  readonly bloodpool: number;
  readonly myocardium: number;
}

export interface SiteSummary {
  readonly name: string;
  readonly source: string;
  /** Labels of the jobs this site delivered a result to. */
  readonly reported: readonly string[];
}

export interface FaultSummary {
  readonly fault: string;
  readonly job: string;
  readonly status: string;
  /** What the check found: how the job dealt with the fault, and that no result was lost or counted twice. */
  readonly detail: string;
  readonly passed: boolean;
}

export interface DemoSummary {
  readonly sizes: DemoSizes;
  readonly seconds: number;
  readonly consoleUrl: string;
  readonly report: string | null;
  readonly jobs: readonly JobSummary[];
  readonly sites: readonly SiteSummary[];
  readonly dice: {
    readonly crossSite: readonly DiceCell[];
    /** The pretrained model on the phantom site in its own (EMIDEC) style; null without such a site. */
    readonly pretrainedOwnProfile: DiceCell | null;
    /** Per fine-tuning variant (e.g. `enc2@10%`, `scratch@100%`) at each site, on its own test cases. */
    readonly finetune: readonly DiceCell[];
  };
  readonly harmonisation: { readonly flagged: readonly string[]; readonly distances: readonly { readonly site: string; readonly wasserstein1: number }[] } | null;
  readonly faults: readonly FaultSummary[];
}

type Cells = Record<Structure, { n: number; mean: number }>;
interface Matrix {
  readonly rows: readonly { readonly model: string; readonly sites: Record<string, Cells> }[];
}

function matrixCells(job: FinishedJob | undefined): DiceCell[] {
  const matrix = (job?.status === 'completed' ? (job.summary as { matrix?: Matrix } | null)?.matrix : undefined) ?? { rows: [] };
  return matrix.rows.flatMap((row) =>
    Object.entries(row.sites).map(([site, cells]) => ({ model: row.model, site, n: cells.bloodpool.n, bloodpool: cells.bloodpool.mean, myocardium: cells.myocardium.mean })),
  );
}

/** Each variant of a finished `finetune` sweep at each site. */
function finetuneCells(job: FinishedJob | undefined): DiceCell[] {
  if (job?.status !== 'completed') return [];
  const { variants } = job.summary as { variants: { variant: { name: string }; sites: Record<string, { dice: Cells }> }[] };
  return variants.flatMap((v) =>
    Object.entries(v.sites).map(([site, { dice }]) => ({ model: v.variant.name, site, n: dice.bloodpool.n, bloodpool: dice.bloodpool.mean, myocardium: dice.myocardium.mean })),
  );
}

export function jobSummary({ step, job }: StudyJob): JobSummary {
  return { step, label: job.label, id: job.id, kind: job.kind, status: job.status, failure: job.failure, sites: participants(job), excluded: exclusions(job) };
}

export function buildSummary(input: {
  readonly sizes: DemoSizes;
  readonly seconds: number;
  readonly consoleUrl: string;
  readonly report: string | null;
  readonly jobs: readonly StudyJob[];
  readonly sites: readonly { readonly name: string; readonly source: string }[];
  readonly ownProfileSite: string | null;
  readonly faults?: readonly FaultSummary[];
}): DemoSummary {
  const jobs = input.jobs.map(jobSummary);
  const crossSite = matrixCells(input.jobs.find((j) => j.step === 'cross-site-evaluation')?.job);
  const harmonisationJob = input.jobs.find((j) => j.step === 'harmonisation-check')?.job;
  const harmonisation =
    harmonisationJob?.status === 'completed'
      ? (() => {
          const s = harmonisationJob.summary as { flagged: string[]; sites: { site: string; wasserstein1: number }[] };
          return { flagged: s.flagged, distances: s.sites.map((d) => ({ site: d.site, wasserstein1: d.wasserstein1 })) };
        })()
      : null;
  return {
    sizes: input.sizes,
    seconds: input.seconds,
    consoleUrl: input.consoleUrl,
    report: input.report,
    jobs,
    sites: input.sites.map((s) => ({ name: s.name, source: s.source, reported: jobs.filter((j) => j.sites.includes(s.name)).map((j) => j.label) })),
    dice: {
      crossSite,
      pretrainedOwnProfile: crossSite.find((c) => c.model === 'pretrained' && c.site === input.ownProfileSite) ?? null,
      finetune: finetuneCells(input.jobs.find((j) => j.step === 'finetune')?.job),
    },
    harmonisation,
    faults: input.faults ?? [],
  };
}

const dice = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(3));

/** The summary as terminal tables. */
export function renderSummary(summary: DemoSummary): string {
  const out: string[] = [];
  out.push(`Study summary (${summary.sizes.name} sizes, ${Math.round(summary.seconds)} s)`);
  out.push('', table(['job', 'kind', 'status', 'sites reported', 'excluded / failure'], summary.jobs.map((j) => [j.label, j.kind, j.status, j.sites.join(' ') || '—', [j.failure ?? '', ...j.excluded.map((e) => `${e.site}: ${e.reason}`)].filter(Boolean).join('; ').slice(0, 90)])));
  const sites = [...new Set(summary.dice.crossSite.map((c) => c.site))];
  const models = [...new Set(summary.dice.crossSite.map((c) => c.model))];
  if (models.length > 0) {
    out.push('', 'Cross-site Dice (blood pool / myocardium, mean over each site\'s test cases)');
    const cell = (m: string, s: string) => summary.dice.crossSite.find((c) => c.model === m && c.site === s);
    out.push(table(['model', ...sites], models.map((m) => [m, ...sites.map((s) => `${dice(cell(m, s)?.bloodpool)} / ${dice(cell(m, s)?.myocardium)}`)])));
  }
  if (summary.dice.finetune.length > 0) {
    out.push('', 'Encoder fine-tuning vs scratch, each site on its own test cases (blood pool / myocardium)');
    const variants = [...new Set(summary.dice.finetune.map((c) => c.model))];
    const ftSites = [...new Set(summary.dice.finetune.map((c) => c.site))];
    const cell = (m: string, s: string) => summary.dice.finetune.find((c) => c.model === m && c.site === s);
    out.push(table(['variant', ...ftSites], variants.map((v) => [v, ...ftSites.map((s) => `${dice(cell(v, s)?.bloodpool)} / ${dice(cell(v, s)?.myocardium)}`)])));
  }
  if (summary.harmonisation) {
    out.push('', `Harmonisation check: W1 to the reference ${summary.harmonisation.distances.map((d) => `${d.site} ${d.wasserstein1.toFixed(3)}`).join(', ')}; flagged: ${summary.harmonisation.flagged.join(', ') || 'none'}`);
  }
  if (summary.faults.length > 0) {
    out.push('', 'Injected faults');
    out.push(table(['fault', 'job', 'status', 'check', 'result'], summary.faults.map((f) => [f.fault, f.job, f.status, f.detail.slice(0, 100), f.passed ? 'ok' : 'FAILED'])));
  }
  out.push('', table(['site', 'data', 'jobs reported to'], summary.sites.map((s) => [s.name, s.source, String(s.reported.length)])));
  return out.join('\n');
}
