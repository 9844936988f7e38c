import { randomUUID } from 'node:crypto';
import { CoordinatorError } from '../errors.js';
import type { ModelStore } from '../model-store.js';
import type { AuditLog } from '../store/audit-log.js';
import type { JobRecord, JobStore, Json, ResultOutcome, TaskRecord } from '../store/jobs.js';
import type { SiteRegistry } from '../store/sites.js';
import { jobName } from './job-name.js';
import { validateJobSpec } from './job-schemas.js';
import { metricsFingerprint, parseSiteResult, resultProblem, type SiteResult } from './result-validation.js';
import type { TaskTransport } from './transport.js';
import type { Workflow, WorkflowContext } from './workflow.js';

export type { SiteResult } from './result-validation.js';

/** `rejected`: the result broke its task's contract; the site is excluded from the round with the reason. */
export type HandledResult = ResultOutcome | 'rejected';

/** A site's typed refusal (local policy) or failure, as the coordinator shows it. */
export interface SiteError {
  readonly code: string;
  readonly message: string;
}

export interface EngineDeps {
  readonly jobs: JobStore;
  readonly sites: SiteRegistry;
  readonly models: ModelStore;
  readonly audit: AuditLog;
  readonly transport: TaskTransport;
  readonly workflows: readonly Workflow<never>[];
}

/**
 * Drives jobs: plans rounds through their workflow, dispatches tasks, applies deadlines, retries
 * and `min_sites`, and records everything in SQLite first so `resume()` after a crash neither
 * loses nor repeats a finished result. Transport-independent; one job advances at a time.
 */
export class JobEngine {
  private readonly workflows = new Map<string, Workflow<unknown>>();
  private readonly jobLocks = new Map<string, Promise<void>>();
  private readonly ctx: WorkflowContext;

  constructor(private readonly deps: EngineDeps) {
    for (const w of deps.workflows) this.workflows.set(w.kind, w as Workflow<unknown>);
    this.ctx = {
      models: deps.models,
      registerModel: (hash, architecture, count, origin) => deps.jobs.registerModel(hash, architecture, count, origin),
      model: (ref) => deps.jobs.model(ref),
      site: (id) => deps.sites.get(id),
      siteIdByName: (name) => deps.sites.byName(name)?.id,
      jobRounds: (jobId) => deps.jobs.rounds(jobId),
    };
  }

  get kinds(): string[] {
    return [...this.workflows.keys()];
  }

  async submit(kind: string, spec: unknown, actor: string): Promise<JobRecord> {
    const workflow = this.workflow(kind);
    const validated = validateJobSpec(kind, spec);
    const parsed = workflow.parse(validated, this.ctx);
    const job = this.deps.jobs.createJob(kind, parsed as Json, actor, jobName(kind, validated));
    this.deps.audit.append({ actor, type: 'job.submitted', subject: job.id, details: { kind } });
    await this.advance(job.id);
    return this.deps.jobs.job(job.id);
  }

  /** After a restart: continue every running job from its stored state. */
  async resume(): Promise<void> {
    for (const job of this.deps.jobs.jobs('running')) await this.advance(job.id);
    await this.checkDeadlines();
  }

  /**
   * A site's result. A malformed delivery (bad ids, counts, non-JSON metrics) is a typed error and
   * changes nothing; a well-formed one that breaks its task's contract (wrong metrics, wrong
   * architecture, NaN weights) excludes that site from the round with the reason recorded, and the
   * round goes on with the others. A result delivered twice counts once.
   */
  async handleResult(siteId: string, delivered: SiteResult): Promise<HandledResult> {
    const result = parseSiteResult(delivered);
    const task = this.ownedTask(siteId, result.taskId);
    if (task.status === 'pending' || task.status === 'dispatched') {
      const problem = await resultProblem(task, result, this.deps.models);
      if (problem !== null) return this.rejectResult(siteId, task, result, problem);
      if (result.modelHash !== undefined) await this.registerUpload(siteId, result.modelHash);
    }
    const outcome = this.deps.jobs.recordResult({
      id: result.resultId,
      taskId: result.taskId,
      siteId,
      metrics: result.metrics,
      modelHash: result.modelHash ?? null,
      numExamples: result.numExamples,
    });
    this.deps.audit.append({ actor: `site:${siteId}`, type: outcome === 'accepted' ? 'result.accepted' : 'result.duplicate', subject: task.jobId, details: { taskId: task.id, resultId: result.resultId } });
    if (outcome === 'accepted') await this.advance(task.jobId);
    return outcome;
  }

  private async rejectResult(siteId: string, task: TaskRecord, result: SiteResult, problem: string): Promise<HandledResult> {
    if (this.deps.jobs.exclude(task.id, `malformed result: ${problem}`)) {
      const details = { taskId: task.id, resultId: result.resultId, reason: problem, metrics: metricsFingerprint(result.metrics) };
      this.deps.audit.append({ actor: `site:${siteId}`, type: 'result.rejected', subject: task.jobId, details });
      await this.advance(task.jobId);
    }
    return 'rejected';
  }

  /** A result may only name weights the site uploaded completely; they become a model version. */
  private async registerUpload(siteId: string, hash: string): Promise<void> {
    if (this.deps.jobs.hasModel(hash)) return;
    const reader = await this.deps.models.open(hash);
    try {
      this.deps.jobs.registerModel(hash, reader.header.architecture, reader.parameterCount, `upload:site:${siteId}`);
    } finally {
      await reader.close();
    }
  }

  /** A refusal by local policy is final for that task: the site is excluded with its reason. */
  async handleRefusal(siteId: string, taskId: string, error: SiteError): Promise<void> {
    const task = this.ownedTask(siteId, taskId);
    if (this.deps.jobs.exclude(task.id, `refused by site: [${error.code}] ${error.message}`)) {
      this.deps.audit.append({ actor: `site:${siteId}`, type: 'task.refused', subject: task.jobId, details: { taskId, ...error } });
      await this.advance(task.jobId);
    }
  }

  /** A failure (crash, out of memory) is retried while attempts remain. */
  async handleFailure(siteId: string, taskId: string, error: SiteError): Promise<void> {
    const task = this.ownedTask(siteId, taskId);
    if (task.status !== 'dispatched') return;
    this.deps.audit.append({ actor: `site:${siteId}`, type: 'task.failed', subject: task.jobId, details: { taskId, attempt: task.attempts, ...error } });
    await this.retryOrExclude(task, `failed: [${error.code}] ${error.message}`);
  }

  /** Call periodically: tasks past their deadline are retried or, out of attempts, excluded. */
  async checkDeadlines(): Promise<void> {
    for (const task of this.deps.jobs.overdueTasks()) {
      this.deps.audit.append({ actor: 'coordinator', type: 'task.deadline_missed', subject: task.jobId, details: { taskId: task.id, siteId: task.siteId, attempt: task.attempts } });
      await this.retryOrExclude(task, `missed its deadline ${task.attempts} time(s)`);
    }
  }

  /** A site (re)connected: send it everything it still owes, at the current attempt. */
  siteConnected(siteId: string): void {
    for (const task of this.deps.jobs.openTasksForSite(siteId)) {
      const current = task.status === 'pending' ? this.deps.jobs.markDispatched(task.id) : task;
      this.send(current);
    }
  }

  private async retryOrExclude(task: TaskRecord, reason: string): Promise<void> {
    if (task.attempts < task.maxAttempts) {
      this.deps.jobs.requeue(task.id);
      this.send(this.deps.jobs.markDispatched(task.id));
    } else if (this.deps.jobs.exclude(task.id, `${reason}; excluded after ${task.attempts} attempt(s)`)) {
      this.deps.audit.append({ actor: 'coordinator', type: 'site.excluded', subject: task.jobId, details: { taskId: task.id, siteId: task.siteId, reason } });
      await this.advance(task.jobId);
    }
  }

  private ownedTask(siteId: string, taskId: string): TaskRecord {
    const task = this.deps.jobs.task(taskId);
    if (!task || task.siteId !== siteId) throw new CoordinatorError('task_not_assigned', `task ${taskId} is not assigned to this site`);
    return task;
  }

  private send(task: TaskRecord): void {
    const eventId = randomUUID();
    this.deps.audit.append({ eventId, actor: 'coordinator', type: 'task.sent', subject: task.jobId, details: { taskId: task.id, siteId: task.siteId, kind: task.kind, attempt: task.attempts } });
    this.deps.transport.send(task.siteId, {
      taskId: task.id,
      jobId: task.jobId,
      roundNo: task.roundNo,
      kind: task.kind,
      payload: task.payload,
      attempt: task.attempts,
      deadlineAt: task.deadlineAt!,
      eventId,
    });
  }

  private workflow(kind: string): Workflow<unknown> {
    const w = this.workflows.get(kind);
    if (!w) throw new CoordinatorError('invalid_argument', `unknown job kind ${JSON.stringify(kind)}; known: ${this.kinds.join(', ')}`);
    return w;
  }

  /** Serialises advancement per job: results may arrive concurrently. */
  private advance(jobId: string): Promise<void> {
    const previous = this.jobLocks.get(jobId) ?? Promise.resolve();
    const next = previous.then(() => this.advanceNow(jobId));
    const settled = next.catch(() => undefined);
    this.jobLocks.set(jobId, settled);
    void settled.then(() => {
      if (this.jobLocks.get(jobId) === settled) this.jobLocks.delete(jobId);
    });
    return next;
  }

  private async advanceNow(jobId: string): Promise<void> {
    for (;;) {
      const job = this.deps.jobs.job(jobId);
      if (job.status !== 'running') return;
      const workflow = this.workflow(job.kind);
      const rounds = this.deps.jobs.rounds(jobId);
      const current = rounds.find((r) => r.status === 'running');
      if (current) {
        for (const t of this.deps.jobs.roundTasks(jobId, current.roundNo)) if (t.status === 'pending') this.dispatch(t);
        const tasks = this.deps.jobs.roundTasks(jobId, current.roundNo);
        if (tasks.some((t) => t.status === 'pending' || t.status === 'dispatched')) return;
        const answered = tasks.filter((t) => t.status === 'completed').length;
        if (answered < current.minSites) {
          const excluded = tasks.filter((t) => t.status === 'excluded').map((t) => ({ siteId: t.siteId, reason: t.excludedReason }));
          const failure = `round ${current.roundNo} (${current.name}): ${answered} site(s) answered, min_sites is ${current.minSites}`;
          this.deps.jobs.atomically(() => {
            this.deps.jobs.finishRound(jobId, current.roundNo, 'failed', { failure, excluded });
            this.deps.jobs.finishJob(jobId, 'failed', { failure });
            this.deps.audit.append({ actor: 'coordinator', type: 'job.failed', subject: jobId, details: { failure, excluded } });
          });
          return;
        }
        let outcome: Json;
        try {
          outcome = await workflow.completeRound(job.spec, { round: current, tasks, results: this.deps.jobs.roundResults(jobId, current.roundNo) }, this.ctx);
        } catch (err) {
          const failure = `round ${current.roundNo} (${current.name}): ${(err as Error).message}`;
          this.deps.jobs.atomically(() => {
            this.deps.jobs.finishRound(jobId, current.roundNo, 'failed', { failure });
            this.deps.jobs.finishJob(jobId, 'failed', { failure });
            this.deps.audit.append({ actor: 'coordinator', type: 'job.failed', subject: jobId, details: { failure } });
          });
          return;
        }
        this.deps.jobs.atomically(() => {
          this.deps.jobs.finishRound(jobId, current.roundNo, 'completed', outcome);
          this.deps.audit.append({ actor: 'coordinator', type: 'round.completed', subject: jobId, details: { roundNo: current.roundNo, name: current.name, answered } });
        });
        continue;
      }
      const step = workflow.next(job.spec, rounds);
      if (step.type === 'done') {
        this.deps.jobs.atomically(() => {
          this.deps.jobs.finishJob(jobId, 'completed', { summary: step.summary });
          this.deps.audit.append({ actor: 'coordinator', type: 'job.completed', subject: jobId });
        });
        return;
      }
      const roundNo = rounds.length;
      this.deps.jobs.createRound(jobId, roundNo, step.name, step.minSites, step.tasks);
      this.deps.audit.append({ actor: 'coordinator', type: 'round.started', subject: jobId, details: { roundNo, name: step.name, sites: step.tasks.map((t) => t.siteId) } });
    }
  }

  private dispatch(task: TaskRecord): void {
    const site = this.deps.sites.get(task.siteId);
    if (!site || site.status === 'revoked') {
      this.deps.jobs.exclude(task.id, site ? `site revoked: ${site.revokedReason ?? ''}` : 'unknown site');
      return;
    }
    this.send(this.deps.jobs.markDispatched(task.id));
  }
}
