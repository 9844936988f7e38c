/**
 * Submitting jobs to the coordinator's REST API and following them to the end. Following survives
 * the coordinator being down for a while (a crash and restart): the job is read again once it is back.
 */
import type { JobView } from '@lgefed/coordinator/live/console-views';
import type { JobRecord, RoundRecord } from '@lgefed/coordinator/store/jobs';
import { AdminApiError, type AdminClient } from '../commands/admin.js';

/** One job of the study, as submitted. */
export interface JobRequest {
  /** Short name in the terminal and the summary, e.g. `finetune emidec 10 % from pretrained`. */
  readonly label: string;
  readonly kind: string;
  readonly spec: Record<string, unknown>;
}

export interface FinishedJob extends JobRecord {
  readonly label: string;
  readonly rounds: readonly RoundRecord[];
  /** The job's per-round task view (sites, status, exclusion reasons) when it ended. */
  readonly view: JobView;
}

export async function submitJob(client: AdminClient, request: JobRequest): Promise<string> {
  const job = await client.request<{ id: string }>('POST', '/api/jobs', { kind: request.kind, spec: { name: request.label, ...request.spec } });
  return job.id;
}

/** Retries while the coordinator is unreachable (restarting), up to `downMs` in a row. */
export async function whileReachable<T>(read: () => Promise<T>, downMs = 60_000): Promise<T> {
  const since = Date.now();
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof AdminApiError && err.code === 'unreachable') || Date.now() - since > downMs) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
}

/** Polls until the job is no longer running; `onView` sees its progress on every poll. */
export async function waitForJob(client: AdminClient, label: string, jobId: string, options: { timeoutMs: number; pollMs?: number; onView?: (view: JobView) => void }): Promise<FinishedJob> {
  const started = Date.now();
  for (;;) {
    const view = await whileReachable(() => client.request<JobView>('GET', `/api/jobs/${jobId}/progress`));
    options.onView?.(view);
    if (view.status !== 'running') {
      const record = await whileReachable(() => client.request<JobRecord & { rounds: RoundRecord[] }>('GET', `/api/jobs/${jobId}`));
      return { ...record, label, view };
    }
    if (Date.now() - started > options.timeoutMs) throw new JobTimeoutError(`job ${label} (${jobId}) still running after ${Math.round(options.timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
  }
}

/** Site names that delivered a result in any round of the job. */
export function participants(job: FinishedJob): string[] {
  return [...new Set(job.view.rounds.flatMap((r) => r.tasks.filter((t) => t.status === 'completed').map((t) => t.site)))].sort();
}

/** Every exclusion of the job: site, round and the recorded reason. */
export function exclusions(job: FinishedJob): { site: string; round: string; reason: string }[] {
  return job.view.rounds.flatMap((r) => r.tasks.filter((t) => t.status === 'excluded').map((t) => ({ site: t.site, round: r.name, reason: t.excludedReason ?? '' })));
}
