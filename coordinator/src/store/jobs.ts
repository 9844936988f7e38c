import { randomUUID } from 'node:crypto';
import { CoordinatorError } from '../errors.js';
import type { Db } from './database.js';

export type JobStatus = 'running' | 'completed' | 'failed' | 'cancelled';
export type TaskStatus = 'pending' | 'dispatched' | 'completed' | 'excluded';
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface JobRecord {
  readonly id: string;
  /** What people call the job (jobs stored before names existed: their kind). */
  readonly name: string;
  readonly kind: string;
  readonly spec: Json;
  readonly status: JobStatus;
  readonly summary: Json | null;
  readonly failure: string | null;
  readonly submittedBy: string;
  readonly createdAt: number;
  readonly finishedAt: number | null;
}

export interface RoundRecord {
  readonly jobId: string;
  readonly roundNo: number;
  readonly name: string;
  readonly minSites: number;
  readonly status: 'running' | 'completed' | 'failed';
  readonly outcome: Json | null;
}

export interface TaskPlan {
  readonly siteId: string;
  readonly kind: string;
  readonly payload: Json;
  readonly deadlineMs: number;
  readonly maxAttempts: number;
}

export interface TaskRecord extends TaskPlan {
  readonly id: string;
  readonly jobId: string;
  readonly roundNo: number;
  readonly status: TaskStatus;
  readonly attempts: number;
  readonly deadlineAt: number | null;
  readonly excludedReason: string | null;
}

export interface ResultRecord {
  /** Chosen by the site; a result delivered twice carries the same id and counts once. */
  readonly id: string;
  readonly taskId: string;
  readonly siteId: string;
  readonly metrics: Json;
  readonly modelHash: string | null;
  readonly numExamples: number;
  readonly receivedAt: number;
}

export type ResultOutcome = 'accepted' | 'duplicate';

/** A model the coordinator may send to sites: imported, uploaded by a site, or aggregated. */
export interface PartialResult {
  readonly label: string;
  readonly metrics: Json;
  readonly numExamples: number;
  readonly messageId: string;
}

export interface ModelVersion {
  readonly hash: string;
  readonly name: string | null;
  readonly architecture: string;
  readonly parameterCount: number;
  readonly createdAt: number;
  readonly origin: string;
}

interface ModelRow {
  hash: string;
  name: string | null;
  architecture: string;
  parameter_count: number;
  created_at: number;
  origin: string;
}

function toModel(row: ModelRow): ModelVersion {
  return { hash: row.hash, name: row.name, architecture: row.architecture, parameterCount: row.parameter_count, createdAt: row.created_at, origin: row.origin };
}

interface TaskRow {
  id: string;
  job_id: string;
  round_no: number;
  site_id: string;
  kind: string;
  payload: string;
  status: TaskStatus;
  attempts: number;
  max_attempts: number;
  deadline_ms: number;
  deadline_at: number | null;
  excluded_reason: string | null;
}

/** Jobs, their rounds, tasks and results: the state a restarted coordinator resumes from. */
export class JobStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  createJob(kind: string, spec: Json, submittedBy: string, name: string): JobRecord {
    const id = randomUUID();
    this.db
      .prepare("INSERT INTO jobs (id, name, kind, spec, status, submitted_by, created_at) VALUES (?, ?, ?, ?, 'running', ?, ?)")
      .run(id, name, kind, JSON.stringify(spec), submittedBy, this.now());
    return this.job(id);
  }

  job(id: string): JobRecord {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    if (!row) throw new CoordinatorError('not_found', `no job ${id}`);
    return {
      id: row['id'] as string,
      name: (row['name'] as string | null) ?? (row['kind'] as string),
      kind: row['kind'] as string,
      spec: JSON.parse(row['spec'] as string) as Json,
      status: row['status'] as JobStatus,
      summary: row['summary'] === null ? null : (JSON.parse(row['summary'] as string) as Json),
      failure: row['failure'] as string | null,
      submittedBy: row['submitted_by'] as string,
      createdAt: row['created_at'] as number,
      finishedAt: row['finished_at'] as number | null,
    };
  }

  jobs(status?: JobStatus): JobRecord[] {
    const ids = this.db.prepare('SELECT id FROM jobs WHERE (? IS NULL OR status = ?) ORDER BY created_at, id').all(status ?? null, status ?? null) as { id: string }[];
    return ids.map((r) => this.job(r.id));
  }

  /**
   * Runs `changes` as one transaction: a round's end, its job's end and their audit rows are
   * written together or not at all, so a crash never resumes a job into a state no step produced
   * (a failed round under a running job, which would start the next round without a model).
   */
  atomically<T>(changes: () => T): T {
    return this.db.transaction(changes).immediate();
  }

  finishJob(id: string, status: 'completed' | 'failed' | 'cancelled', detail: { summary?: Json; failure?: string }): void {
    this.db
      .prepare("UPDATE jobs SET status = ?, summary = ?, failure = ?, finished_at = ? WHERE id = ? AND status = 'running'")
      .run(status, detail.summary === undefined ? null : JSON.stringify(detail.summary), detail.failure ?? null, this.now(), id);
  }

  /** A round and all its tasks appear together or not at all. */
  createRound(jobId: string, roundNo: number, name: string, minSites: number, tasks: readonly TaskPlan[]): void {
    this.db
      .transaction(() => {
        this.db.prepare("INSERT INTO rounds (job_id, round_no, name, min_sites, status, started_at) VALUES (?, ?, ?, ?, 'running', ?)").run(jobId, roundNo, name, minSites, this.now());
        const insert = this.db.prepare(
          "INSERT INTO tasks (id, job_id, round_no, site_id, kind, payload, status, max_attempts, deadline_ms) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        );
        for (const t of tasks) insert.run(randomUUID(), jobId, roundNo, t.siteId, t.kind, JSON.stringify(t.payload), t.maxAttempts, t.deadlineMs);
      })
      .immediate();
  }

  rounds(jobId: string): RoundRecord[] {
    const rows = this.db.prepare('SELECT * FROM rounds WHERE job_id = ? ORDER BY round_no').all(jobId) as Record<string, unknown>[];
    return rows.map((r) => ({
      jobId: r['job_id'] as string,
      roundNo: r['round_no'] as number,
      name: r['name'] as string,
      minSites: r['min_sites'] as number,
      status: r['status'] as RoundRecord['status'],
      outcome: r['outcome'] === null ? null : (JSON.parse(r['outcome'] as string) as Json),
    }));
  }

  finishRound(jobId: string, roundNo: number, status: 'completed' | 'failed', outcome: Json): void {
    this.db
      .prepare("UPDATE rounds SET status = ?, outcome = ?, finished_at = ? WHERE job_id = ? AND round_no = ? AND status = 'running'")
      .run(status, JSON.stringify(outcome), this.now(), jobId, roundNo);
  }

  task(id: string): TaskRecord | undefined {
    const row = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as TaskRow | undefined;
    return row && toTask(row);
  }

  roundTasks(jobId: string, roundNo: number): TaskRecord[] {
    return (this.db.prepare('SELECT * FROM tasks WHERE job_id = ? AND round_no = ? ORDER BY site_id, id').all(jobId, roundNo) as TaskRow[]).map(toTask);
  }

  /** Tasks still owed by a site in running rounds. */
  openTasksForSite(siteId: string): TaskRecord[] {
    return (
      this.db
        .prepare(
          `SELECT t.* FROM tasks t JOIN rounds r ON r.job_id = t.job_id AND r.round_no = t.round_no
           WHERE t.site_id = ? AND t.status IN ('pending', 'dispatched') AND r.status = 'running' ORDER BY t.rowid`,
        )
        .all(siteId) as TaskRow[]
    ).map(toTask);
  }

  overdueTasks(): TaskRecord[] {
    return (
      this.db
        .prepare(
          `SELECT t.* FROM tasks t JOIN rounds r ON r.job_id = t.job_id AND r.round_no = t.round_no
           WHERE t.status = 'dispatched' AND t.deadline_at <= ? AND r.status = 'running' ORDER BY t.deadline_at`,
        )
        .all(this.now()) as TaskRow[]
    ).map(toTask);
  }

  /** Starts a new attempt: counts it and sets its deadline. */
  markDispatched(taskId: string): TaskRecord {
    this.db
      .prepare("UPDATE tasks SET status = 'dispatched', attempts = attempts + 1, deadline_at = ? + deadline_ms WHERE id = ? AND status = 'pending'")
      .run(this.now(), taskId);
    return this.task(taskId)!;
  }

  requeue(taskId: string): void {
    this.db.prepare("UPDATE tasks SET status = 'pending', deadline_at = NULL WHERE id = ? AND status = 'dispatched'").run(taskId);
  }

  exclude(taskId: string, reason: string): boolean {
    const info = this.db.prepare("UPDATE tasks SET status = 'excluded', excluded_reason = ? WHERE id = ? AND status IN ('pending', 'dispatched')").run(reason, taskId);
    return info.changes === 1;
  }

  /**
   * Idempotent: the same result id (or a second result for a task already answered) is a
   * duplicate and changes nothing; a result for a task that was excluded or whose round closed
   * is refused.
   */
  recordResult(result: Omit<ResultRecord, 'receivedAt'>): ResultOutcome {
    return this.db
      .transaction((): ResultOutcome => {
        const existing = this.db.prepare('SELECT task_id FROM results WHERE id = ?').get(result.id) as { task_id: string } | undefined;
        if (existing) {
          if (existing.task_id !== result.taskId) throw new CoordinatorError('conflict', `result id ${result.id} was already used for another task`);
          return 'duplicate';
        }
        const task = this.task(result.taskId);
        if (!task || task.siteId !== result.siteId) throw new CoordinatorError('task_not_assigned', `task ${result.taskId} is not assigned to this site`);
        if (task.status === 'completed') return 'duplicate';
        if (task.status === 'excluded') throw new CoordinatorError('task_closed', `task ${task.id} was closed: ${task.excludedReason}`);
        this.db
          .prepare('INSERT INTO results (id, task_id, site_id, metrics, model_hash, num_examples, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(result.id, result.taskId, result.siteId, JSON.stringify(result.metrics), result.modelHash, result.numExamples, this.now());
        this.db.prepare("UPDATE tasks SET status = 'completed', deadline_at = NULL WHERE id = ?").run(result.taskId);
        return 'accepted';
      })
      .immediate();
  }

  roundResults(jobId: string, roundNo: number): ResultRecord[] {
    const rows = this.db
      .prepare('SELECT r.* FROM results r JOIN tasks t ON t.id = r.task_id WHERE t.job_id = ? AND t.round_no = ? ORDER BY r.site_id, r.id')
      .all(jobId, roundNo) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r['id'] as string,
      taskId: r['task_id'] as string,
      siteId: r['site_id'] as string,
      metrics: JSON.parse(r['metrics'] as string) as Json,
      modelHash: r['model_hash'] as string | null,
      numExamples: r['num_examples'] as number,
      receivedAt: r['received_at'] as number,
    }));
  }

  /** One model's scores of a multi-model evaluation task, kept until the task's result is complete. */
  recordPartialResult(taskId: string, label: string, metrics: Json, numExamples: number, messageId: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO partial_results (task_id, label, metrics, num_examples, message_id, received_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(taskId, label, JSON.stringify(metrics), numExamples, messageId, this.now());
  }

  partialResults(taskId: string): PartialResult[] {
    const rows = this.db.prepare('SELECT label, metrics, num_examples, message_id FROM partial_results WHERE task_id = ? ORDER BY received_at, label').all(taskId) as { label: string; metrics: string; num_examples: number; message_id: string }[];
    return rows.map((r) => ({ label: r.label, metrics: JSON.parse(r.metrics) as Json, numExamples: r.num_examples, messageId: r.message_id }));
  }

  clearPartialResults(taskId: string): void {
    this.db.prepare('DELETE FROM partial_results WHERE task_id = ?').run(taskId);
  }

  registerModel(hash: string, architecture: string, parameterCount: number, origin: string): void {
    this.db
      .prepare('INSERT OR IGNORE INTO model_versions (hash, architecture, parameter_count, created_at, origin) VALUES (?, ?, ?, ?, ?)')
      .run(hash, architecture, parameterCount, this.now(), origin);
  }

  /** Gives a registered model a name; a name already held by other weights is a conflict. */
  nameModel(hash: string, name: string): void {
    const holder = this.model(name);
    if (holder && holder.hash !== hash) throw new CoordinatorError('conflict', `model name ${name} already names ${holder.hash}`);
    this.db.prepare('UPDATE model_versions SET name = ? WHERE hash = ?').run(name, hash);
  }

  hasModel(hash: string): boolean {
    return this.db.prepare('SELECT 1 FROM model_versions WHERE hash = ?').get(hash) !== undefined;
  }

  /** A registered model by its name or its sha256. */
  model(ref: string): ModelVersion | undefined {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE name = ? OR hash = ?').get(ref, ref) as ModelRow | undefined;
    return row && toModel(row);
  }

  models(): ModelVersion[] {
    return (this.db.prepare('SELECT * FROM model_versions ORDER BY created_at, hash').all() as ModelRow[]).map(toModel);
  }
}

function toTask(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    jobId: row.job_id,
    roundNo: row.round_no,
    siteId: row.site_id,
    kind: row.kind,
    payload: JSON.parse(row.payload) as Json,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    deadlineMs: row.deadline_ms,
    deadlineAt: row.deadline_at,
    excludedReason: row.excluded_reason,
  };
}
