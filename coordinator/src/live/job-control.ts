import { CoordinatorError } from '../errors.js';
import type { CoordinatorState } from '../state.js';
import type { JobRecord, Json } from '../store/jobs.js';
import type { JobEngine } from '../workflow/engine.js';

/** Audit event holding a job's request exactly as submitted (the store keeps the parsed spec). */
export const JOB_REQUESTED = 'job.requested';

/** Records the submitted kind and spec, so the job can be re-run as it was asked for. */
export function recordJobRequest(state: CoordinatorState, job: JobRecord, spec: unknown, actor: string): void {
  state.audit.append({ actor, type: JOB_REQUESTED, subject: job.id, details: { kind: job.kind, spec: spec ?? null } });
}

/**
 * Cancels a running job: its open round closes (so deadlines stop retrying its tasks and
 * reconnecting sites are not sent them again) and the job ends as `cancelled`. Results sites
 * still send are stored but advance nothing.
 */
export function cancelJob(state: CoordinatorState, jobId: string, actor: string): JobRecord {
  const job = state.jobs.job(jobId);
  if (job.status !== 'running') throw new CoordinatorError('conflict', `job ${jobId} is ${job.status}; only running jobs can be cancelled`);
  const failure = `cancelled by ${actor}`;
  state.jobs.atomically(() => {
    for (const round of state.jobs.rounds(jobId)) if (round.status === 'running') state.jobs.finishRound(jobId, round.roundNo, 'failed', { failure, cancelled: true } as Json);
    state.jobs.finishJob(jobId, 'cancelled', { failure });
    state.audit.append({ actor, type: 'job.cancelled', subject: jobId });
  });
  return state.jobs.job(jobId);
}

/** Submits a job again with the request it was first submitted with (site names, not ids, so revoked sites fail clearly). */
export async function rerunJob(state: CoordinatorState, engine: JobEngine, jobId: string, actor: string): Promise<JobRecord> {
  const job = state.jobs.job(jobId);
  const request = state.audit.list({ subject: jobId, type: JOB_REQUESTED, limit: 1 })[0];
  if (!request) throw new CoordinatorError('conflict', `job ${jobId} has no recorded request (submitted before requests were recorded); submit it anew`);
  const { spec } = request.details as { spec: unknown };
  const rerun = await engine.submit(job.kind, spec, actor);
  recordJobRequest(state, rerun, spec, actor);
  state.audit.append({ actor, type: 'job.rerun', subject: rerun.id, details: { of: jobId } });
  return rerun;
}
