import type { CoordinatorState } from '../state.js';
import type { JobRecord, Json, TaskRecord } from '../store/jobs.js';
import type { Site } from '../store/sites.js';
import type { SitePresence } from '../transport/presence.js';
import type { LossPoint } from './progress-tracker.js';
import { ProgressTracker } from './progress-tracker.js';

/** What the console shows per site: registry, live connection, refusals and the latest error. */
export interface SiteView {
  readonly id: string;
  readonly name: string;
  readonly status: Site['status'];
  readonly enrolledAt: number | null;
  readonly revokedReason: string | null;
  readonly presence: SitePresence | null;
  /** What the coordinator has seen of the site's local policy: tasks it refused, and the latest reason. */
  readonly policy: { readonly refusals: number; readonly lastRefusal: string | null };
  readonly lastError: { readonly at: number; readonly type: string; readonly message: string } | null;
}

export interface TaskView {
  readonly taskId: string;
  readonly site: string;
  readonly status: TaskRecord['status'];
  readonly attempts: number;
  readonly maxAttempts: number;
  /** Retries so far: attempts beyond the first. */
  readonly retries: number;
  readonly excludedReason: string | null;
  readonly stage: string | null;
  /** 0..1 over the whole task (every model of an evaluation); 1 once the result is in, null when excluded. */
  readonly fraction: number | null;
  /** For a task that scores several models: how many are scored so far, of how many. */
  readonly models: { readonly scored: number; readonly total: number } | null;
  readonly etaSeconds: number | null;
  readonly epoch: number | null;
  readonly loss: number | null;
  readonly losses: readonly LossPoint[];
}

export interface JobView {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly status: JobRecord['status'];
  readonly failure: string | null;
  readonly submittedBy: string;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  /** Rounds the job will run in all, where the kind says so up front. */
  readonly plannedRounds: number | null;
  readonly rounds: readonly { readonly roundNo: number; readonly name: string; readonly status: string; readonly tasks: readonly TaskView[] }[];
}

type SpecFields = { readonly [key: string]: Json };
const count = (v: Json | undefined) => (Array.isArray(v) ? v.length : 0);

/** Rounds a job runs, from its stored (parsed) spec; null for kinds whose plan is not known up front. */
export function plannedRounds(job: JobRecord): number | null {
  const spec = job.spec as SpecFields;
  switch (job.kind) {
    case 'train':
    case 'pretrain':
    case 'evaluate':
    case 'harmonisation-check':
      return 1;
    case 'fedavg':
      return Number(spec['rounds']) + (spec['compareWithLocal'] === false ? 0 : 2);
    case 'finetune':
      return count(spec['dataFractions']) * (count(spec['encoderBlocks']) + (spec['scratchBaselines'] === false ? 0 : 1));
    default:
      return null;
  }
}

const ERROR_TYPES = ['task.failed', 'task.refused', 'site.error_report', 'transport.rejected', 'site.excluded', 'site.duplicate_refused'];

/**
 * Read models for the console and `lgefed admin`: sites with their presence, jobs with per-site
 * task progress and ETA. Built from the store, the presence board and the progress tracker;
 * changes nothing.
 */
export class ConsoleViews {
  readonly tracker: ProgressTracker;
  /** Per site, from the audit log: refusals and the latest error, kept up to date incrementally. */
  private readonly siteHistory = new Map<string, { refusals: number; lastRefusal: string | null; lastError: SiteView['lastError'] }>();
  private auditSeq = 0;

  constructor(
    private readonly state: CoordinatorState,
    private readonly presence: ((siteId: string) => SitePresence) | undefined,
    now: () => number = Date.now,
  ) {
    this.tracker = new ProgressTracker(now);
  }

  siteName(id: string): string {
    return this.state.sites.get(id)?.name ?? id;
  }

  /** Feeds the tracker from the presence board; call on every live tick so ETAs have a history. */
  sample(): void {
    if (!this.presence) return;
    for (const site of this.state.sites.list()) {
      const p = this.presence(site.id);
      for (const [taskId, report] of Object.entries(p.progress)) this.tracker.observe(taskId, report);
    }
  }

  sites(): SiteView[] {
    this.scanAudit();
    return this.state.sites.list().map((site) => {
      const history = this.siteHistory.get(site.id);
      return {
        id: site.id,
        name: site.name,
        status: site.status,
        enrolledAt: site.enrolledAt,
        revokedReason: site.revokedReason,
        presence: this.presence ? this.presence(site.id) : null,
        policy: { refusals: history?.refusals ?? 0, lastRefusal: history?.lastRefusal ?? null },
        lastError: history?.lastError ?? null,
      };
    });
  }

  /** Folds audit events written since the last call into each site's refusals and latest error. */
  private scanAudit(): void {
    for (;;) {
      const events = this.state.audit.list({ afterSeq: this.auditSeq, limit: 5000 });
      for (const e of events) {
        this.auditSeq = e.seq;
        if (!ERROR_TYPES.includes(e.type)) continue;
        const details = (e.details ?? {}) as { siteId?: unknown };
        const siteId = e.actor.startsWith('site:') ? e.actor.slice('site:'.length) : typeof details.siteId === 'string' ? details.siteId : null;
        if (siteId === null) continue;
        const history = this.siteHistory.get(siteId) ?? { refusals: 0, lastRefusal: null, lastError: null };
        const message = describe(e.details);
        if (e.type === 'task.refused') Object.assign(history, { refusals: history.refusals + 1, lastRefusal: message });
        history.lastError = { at: e.at, type: e.type, message };
        this.siteHistory.set(siteId, history);
      }
      if (events.length < 5000) return;
    }
  }

  job(jobId: string): JobView {
    const job = this.state.jobs.job(jobId);
    const livePresence = new Map<string, SitePresence>();
    const presenceOf = (siteId: string) => {
      if (!this.presence) return null;
      if (!livePresence.has(siteId)) livePresence.set(siteId, this.presence(siteId));
      return livePresence.get(siteId)!;
    };
    const rounds = this.state.jobs.rounds(jobId).map((round) => ({
      roundNo: round.roundNo,
      name: round.name,
      status: round.status,
      tasks: this.state.jobs.roundTasks(jobId, round.roundNo).map((task) => this.task(task, presenceOf(task.siteId))),
    }));
    return {
      id: job.id,
      name: job.name,
      kind: job.kind,
      status: job.status,
      failure: job.failure,
      submittedBy: job.submittedBy,
      createdAt: job.createdAt,
      finishedAt: job.finishedAt,
      plannedRounds: plannedRounds(job),
      rounds,
    };
  }

  /** Every job, newest first, with the tasks of its last round (progress while running; who was excluded and why after). */
  jobs(): JobView[] {
    return this.state.jobs
      .jobs()
      .reverse()
      .map((job) => {
        const view = this.job(job.id);
        return { ...view, rounds: view.rounds.map((r, i) => (i === view.rounds.length - 1 ? r : { ...r, tasks: [] })) };
      });
  }

  private task(task: TaskRecord, presence: SitePresence | null): TaskView {
    const live = task.status === 'dispatched' ? presence?.progress[task.id] : undefined;
    const total = task.kind === 'evaluate' ? count((task.payload as SpecFields)['models']) : 1;
    const scored = Math.min(total, task.status === 'completed' ? total : (presence?.modelsScored[task.id] ?? 0));
    const fraction = task.status === 'completed' ? 1 : task.status === 'excluded' ? null : (scored + (live?.fraction ?? 0)) / total;
    return {
      taskId: task.id,
      site: this.siteName(task.siteId),
      status: task.status,
      attempts: task.attempts,
      maxAttempts: task.maxAttempts,
      retries: Math.max(0, task.attempts - 1),
      excludedReason: task.excludedReason,
      stage: live?.stage ?? null,
      fraction,
      models: total > 1 ? { scored, total } : null,
      // The tracker sees one model's progress at a time: its rate says nothing of the models still to come.
      etaSeconds: task.status === 'dispatched' && total === 1 ? this.tracker.etaSeconds(task.id) : null,
      epoch: live?.epoch ?? null,
      loss: live?.loss ?? null,
      losses: this.tracker.losses(task.id),
    };
  }
}

/** One line from an audit event's details: its code and message when it has them. */
function describe(details: unknown): string {
  const d = (details ?? {}) as { code?: unknown; message?: unknown; reason?: unknown };
  const text = [d.code, d.message ?? d.reason].filter((v) => typeof v === 'string' && v.length > 0).join(': ');
  return text || JSON.stringify(details);
}
