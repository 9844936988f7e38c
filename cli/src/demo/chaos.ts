/**
 * Fault drills on a running demo federation, with real processes and real sockets: each drill runs
 * one federated job, injects one fault while it runs, and checks that the job completes (or fails
 * with a clear reason) and that no finished result was lost or counted twice.
 */
import { join } from 'node:path';
import { loadPrivateKey, Signer } from '@lgefed/protocol';
import type { JobView } from '@lgefed/coordinator/live/console-views';
import type { RoundRecord } from '@lgefed/coordinator/store/jobs';
import { io } from 'socket.io-client';
import { connections, type DemoFederation } from './federation.js';
import { submitJob, waitForJob, whileReachable, type FinishedJob, type JobRequest } from './jobs.js';
import type { FaultSummary } from './summary.js';

export const FAULTS = ['site-killed-mid-round', 'coordinator-killed-mid-job', 'coordinator-killed-mid-evaluation', 'site-delayed-past-deadline', 'tampered-message', 'disconnect-during-model-transfer'] as const;
export type Fault = (typeof FAULTS)[number];

export interface DrillSettings {
  readonly architecture: string;
  /** The model every drill's FedAvg starts from (and so transfers to every site). */
  readonly initialModel: string;
  readonly config: Readonly<Record<string, number>>;
  /** Deadline of drill tasks: long enough for every healthy site to finish a round. */
  readonly deadlineSeconds: number;
  /** Bytes of the initial model on the wire, to cut a transfer part-way. */
  readonly modelBytes: number;
  readonly timeoutMs?: number;
  readonly onView?: (label: string, view: JobView) => void;
  readonly log?: (line: string) => void;
}

export interface DrillResult {
  readonly summary: FaultSummary;
  readonly job: FinishedJob;
}

type Participant = { site: string; numExamples: number };
type MatrixOutcome = { rows?: { model: string; sites: Record<string, unknown> }[] };
type RoundOutcome = { participants?: Participant[]; excluded?: { site: string; reason: string | null }[] };

/**
 * Problems with how results were counted: a site twice in a round's participants, a participant
 * whose task is not completed, or a completed task missing from the participants.
 */
export function countingProblems(job: FinishedJob): string[] {
  const problems: string[] = [];
  // Rounds that aggregate results name their participants (a baseline or evaluation round does not).
  for (const round of job.rounds.filter((r) => r.status === 'completed' && (r.outcome as RoundOutcome | null)?.participants)) {
    const names = (round.outcome as RoundOutcome).participants!.map((p) => p.site);
    const completed = job.view.rounds.find((r) => r.roundNo === round.roundNo)?.tasks.filter((t) => t.status === 'completed').map((t) => t.site) ?? [];
    if (new Set(names).size !== names.length) problems.push(`${round.name}: a site counted twice (${names.join(', ')})`);
    for (const n of names) if (!completed.includes(n)) problems.push(`${round.name}: ${n} counted without a completed task`);
    for (const c of completed) if (!names.includes(c)) problems.push(`${round.name}: ${c}'s finished result is missing`);
  }
  return problems;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the job's progress until `ready` holds (e.g. a site's task is running). */
async function until(federation: DemoFederation, jobId: string, ready: (view: JobView) => boolean, timeoutMs: number): Promise<JobView> {
  const started = Date.now();
  for (;;) {
    const view = await whileReachable(() => federation.client.request<JobView>('GET', `/api/jobs/${jobId}/progress`));
    if (ready(view) || view.status !== 'running') return view;
    if (Date.now() - started > timeoutMs) throw new Error(`job ${jobId}: the moment to inject the fault did not come within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

const taskOf = (view: JobView, site: string) => view.rounds.at(-1)?.tasks.find((t) => t.site === site);

/** Sends the coordinator a message signed with the site's own key (`<stateDir>/site.private.jwk`) and altered after signing. */
export async function injectTamperedMessage(url: string, siteStateDir: string, siteId: string): Promise<void> {
  const key = await loadPrivateKey(join(siteStateDir, 'site.private.jwk'));
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const hello = { siteId, agentVersion: 'chaos', protocolVersion: 1, capabilities: { mlBackend: 'ML_BACKEND_TFJS_CPU' as const, gpus: [], memoryMib: 1, cpuCores: 1 }, datasets: [] };
    const [header, payload, signature] = (await new Signer(key).seal('SiteHello', hello)).split('.') as [string, string, string];
    const bytes = Buffer.from(payload, 'base64url');
    bytes[bytes.length - 1] ^= 1;
    // Before a verified hello the coordinator only drops the connection: no reply comes.
    await socket.timeout(10_000).emitWithAck('envelope', `${header}.${bytes.toString('base64url')}.${signature}`).catch(() => undefined);
  } finally {
    socket.disconnect();
  }
}

async function rejectionCount(federation: DemoFederation): Promise<number> {
  const events = await federation.client.request<{ type: string; details: { code?: string } }[]>('GET', '/api/audit?limit=5000');
  return events.filter((e) => e.type === 'transport.rejected' && e.details.code === 'BAD_SIGNATURE').length;
}

/** Runs one drill: a FedAvg job over every site with the fault injected while it runs. */
export async function runFaultDrill(federation: DemoFederation, fault: Fault, settings: DrillSettings): Promise<DrillResult> {
  const sites = federation.sites.map((s) => s.name);
  const victim = federation.sites.at(-1)!;
  const log = settings.log ?? (() => undefined);
  const delay = fault === 'site-delayed-past-deadline';
  const killedMidEvaluation = fault === 'coordinator-killed-mid-evaluation';
  const request: JobRequest = {
    label: `chaos: ${fault}`,
    kind: 'fedavg',
    spec: {
      sites,
      rounds: fault === 'coordinator-killed-mid-job' ? 2 : 1,
      localEpochs: 1,
      architecture: settings.architecture,
      initialModel: settings.initialModel,
      config: settings.config,
      minSites: sites.length - 1,
      // With the local baselines compared, the job ends in an evaluation of every model at every site.
      compareWithLocal: killedMidEvaluation,
      deadlineSeconds: settings.deadlineSeconds,
      // A delayed site is excluded at its first deadline; the others are re-sent after a crash.
      maxAttempts: delay ? 1 : 3,
    },
  };
  const timeoutMs = settings.timeoutMs ?? 600_000;
  if (fault === 'disconnect-during-model-transfer') {
    // Agents keep received models in memory: a fresh process must fetch the start model again.
    await victim.agent.stop();
    await federation.restartAgent(victim.name);
  }
  const jobId = await submitJob(federation.client, request);
  log(`${request.label}: job ${jobId}, fault on ${fault === 'coordinator-killed-mid-job' ? 'the coordinator' : `site ${victim.name}`}`);
  let detail = '';
  const checks: string[] = [];
  let snapshot: RoundRecord[] = [];
  let rejectionsBefore = 0;
  switch (fault) {
    case 'site-killed-mid-round': {
      await until(federation, jobId, (v) => (taskOf(v, victim.name)?.fraction ?? 0) > 0, timeoutMs);
      await federation.crashAgent(victim.name);
      log(`killed agent ${victim.name} mid-round (SIGKILL); restarting it`);
      await sleep(1000);
      await federation.restartAgent(victim.name);
      detail = `agent ${victim.name} killed while training, restarted with its kept key`;
      break;
    }
    case 'coordinator-killed-mid-job': {
      await until(federation, jobId, (v) => v.rounds.some((r) => r.status === 'completed') && v.rounds.some((r) => r.status === 'running'), timeoutMs);
      snapshot = (await federation.client.request<{ rounds: RoundRecord[] }>('GET', `/api/jobs/${jobId}`)).rounds.filter((r) => r.status === 'completed');
      const before = federation.sites.map((s) => connections(s.agent));
      await federation.crashAndRestartCoordinator();
      log(`killed the coordinator (SIGKILL) after round 1 and restarted it on ${federation.url}`);
      await Promise.all(federation.sites.map((s, i) => federation.waitConnected(s, before[i])));
      detail = `coordinator killed with round 1 of 2 finished; all ${sites.length} agents reconnected`;
      break;
    }
    case 'coordinator-killed-mid-evaluation': {
      const inEvaluation = (v: JobView) => v.rounds.at(-1)?.name === 'evaluate' && v.rounds.at(-1)!.status === 'running';
      const view = await until(federation, jobId, (v) => inEvaluation(v) && v.rounds.at(-1)!.tasks.some((t) => (t.fraction ?? 0) > 0), timeoutMs);
      const scored = view.rounds.at(-1)?.tasks.map((t) => `${t.site} ${Math.round((t.fraction ?? 0) * 100)} %`).join(', ') ?? 'none';
      const before = federation.sites.map((s) => connections(s.agent));
      await federation.crashAndRestartCoordinator();
      log(`killed the coordinator (SIGKILL) during the evaluation round (${scored}) and restarted it`);
      await Promise.all(federation.sites.map((s, i) => federation.waitConnected(s, before[i])));
      detail = `coordinator killed mid-evaluation (${scored} of each site's models scored); all ${sites.length} agents reconnected`;
      break;
    }
    case 'site-delayed-past-deadline': {
      victim.agent.pause();
      log(`froze agent ${victim.name} (SIGSTOP) until its ${settings.deadlineSeconds} s deadline has passed`);
      break;
    }
    case 'tampered-message': {
      await until(federation, jobId, (v) => v.rounds.length > 0, timeoutMs);
      rejectionsBefore = await rejectionCount(federation);
      await injectTamperedMessage(federation.url, join(victim.dir, 'state'), (await federation.client.request<{ id: string; name: string }[]>('GET', '/api/sites')).find((s) => s.name === victim.name)!.id);
      const rejected = (await rejectionCount(federation)) - rejectionsBefore;
      checks.push(...(rejected >= 1 ? [] : ['the coordinator did not log the tampered message as rejected']));
      detail = `a SiteHello signed with ${victim.name}'s key, altered after signing: rejected (BAD_SIGNATURE) ${rejected}×`;
      break;
    }
    case 'disconnect-during-model-transfer': {
      const before = connections(victim.agent);
      const flowing = await victim.link.waitForTraffic(Math.floor(settings.modelBytes / 4), Math.min(timeoutMs, 120_000));
      if (!flowing) checks.push('the model transfer to the site never started');
      victim.link.cut();
      log(`cut ${victim.name}'s connection after a quarter of the model reached it`);
      await federation.waitConnected(victim, before);
      detail = `connection cut part-way through the ${(settings.modelBytes / 2 ** 20).toFixed(1)} MiB model transfer; the agent reconnected`;
      break;
    }
  }
  const job = await waitForJob(federation.client, request.label, jobId, { timeoutMs, ...(settings.onView ? { onView: (v) => settings.onView!(request.label, v) } : {}) });
  if (delay) {
    victim.agent.resume();
    await sleep(2000); // its late result, if any, arrives now and must not count
    const again = await waitForJob(federation.client, request.label, jobId, { timeoutMs });
    const excluded = job.view.rounds.flatMap((r) => r.tasks).find((t) => t.site === victim.name);
    if (excluded?.status !== 'excluded' || !/deadline/.test(excluded.excludedReason ?? '')) checks.push(`${victim.name} was not excluded for its deadline`);
    if (JSON.stringify(again.rounds) !== JSON.stringify(job.rounds)) checks.push('the late result changed a finished round');
    detail = `agent ${victim.name} frozen past its deadline: ${excluded?.excludedReason ?? 'not excluded'}`;
  }
  if (snapshot.length > 0) {
    for (const round of snapshot) {
      const after = job.rounds.find((r) => r.roundNo === round.roundNo);
      if (JSON.stringify(after?.outcome) !== JSON.stringify(round.outcome)) checks.push(`${round.name}'s finished outcome changed across the restart`);
    }
  }
  if (killedMidEvaluation) {
    const matrix = job.rounds.find((r) => r.name === 'evaluate')?.outcome as MatrixOutcome | undefined;
    const cells = (matrix?.rows ?? []).flatMap((row) => sites.filter((site) => !row.sites[site]).map((site) => `${row.model} at ${site}`));
    if (!matrix?.rows?.length) checks.push(`the evaluation round has no cross-site matrix (job ${job.status}${job.failure ? `: ${job.failure}` : ''}; rounds ${job.rounds.map((r) => `${r.name} ${r.status}`).join(', ')})`);
    else if (cells.length > 0) checks.push(`scores missing after the restart: ${cells.join(', ')}`);
  }
  if (job.status !== 'completed' && !job.failure) checks.push(`job ${job.status} without a reason`);
  if (!delay && job.status === 'completed' && !job.view.rounds.every((r) => r.tasks.every((t) => t.status === 'completed'))) checks.push('a site was left out although it recovered');
  checks.push(...countingProblems(job));
  const passed = checks.length === 0 && (job.status === 'completed' || Boolean(job.failure));
  return {
    summary: { fault, job: jobId, status: job.status, detail: [detail, ...checks].join('; '), passed },
    job,
  };
}
