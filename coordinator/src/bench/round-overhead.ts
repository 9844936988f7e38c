import { exportJWK, generateKeyPair } from 'jose';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCoordinatorState } from '../state.js';
import { JobEngine } from '../workflow/engine.js';
import { WORKFLOWS } from '../workflow/index.js';
import type { EvaluateTaskPayload } from '../workflow/task-payloads.js';
import type { TaskMessage, TaskTransport } from '../workflow/transport.js';

export interface RoundOverhead {
  readonly agents: number;
  readonly rounds: number;
  readonly medianRoundMs: number;
  readonly p95RoundMs: number;
  /** Coordinator time per site result: dispatch, validation, SQLite, audit log, round completion. */
  readonly perTaskMs: number;
}

/**
 * Simulated agents answering over an in-process transport: each task is answered on a later event
 * loop turn with evaluation metrics, so a round costs exactly what the coordinator does per round
 * (plan, dispatch, validate and record every result in SQLite with its audit events, build the
 * cross-site matrix), with no network in between.
 */
class SimulatedAgents implements TaskTransport {
  engine: JobEngine | null = null;
  private readonly pending: Promise<unknown>[] = [];

  send(siteId: string, task: TaskMessage): boolean {
    const answer = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const payload = task.payload as unknown as EvaluateTaskPayload;
      const summary = { n: 20, mean: 0.85, sd: 0.05 };
      const metrics = Object.fromEntries(payload.models.map((m) => [m.label, { bloodpool: summary, myocardium: { ...summary, mean: 0.75 } }]));
      return this.engine!.handleResult(siteId, { resultId: `r-${task.taskId}`, taskId: task.taskId, metrics, numExamples: 20 });
    });
    this.pending.push(answer);
    return true;
  }

  async settle(): Promise<void> {
    while (this.pending.length > 0) await this.pending.shift();
  }
}

/** Times `rounds` single-round evaluate jobs over `agents` sites with the real JobEngine and SQLite store. */
export async function measureRoundOverhead(agents: number, rounds: number): Promise<RoundOverhead> {
  const dir = await mkdtemp(join(tmpdir(), 'lgefed-bench-rounds-'));
  const state = await openCoordinatorState(dir);
  try {
    const names: string[] = [];
    for (let i = 0; i < agents; i++) {
      const name = `site${String(i).padStart(3, '0')}`;
      const enrolment = state.sites.createEnrolment(name, 60_000, 'bench');
      const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      state.sites.redeem(enrolment.token, await exportJWK(publicKey));
      names.push(name);
    }
    const transport = new SimulatedAgents();
    const engine = new JobEngine({ ...state, transport, workflows: WORKFLOWS });
    transport.engine = engine;
    // The job must name a model the coordinator knows; the simulated agents never read its weights.
    const hash = 'a'.repeat(64);
    state.jobs.registerModel(hash, 'lite', 1, 'bench');
    const spec = { sites: names, models: [{ label: 'global', hash }] };
    const times: number[] = [];
    for (let r = 0; r < rounds + 1; r++) {
      const start = process.hrtime.bigint();
      const job = await engine.submit('evaluate', spec, 'bench');
      await transport.settle();
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const status = state.jobs.job(job.id).status;
      if (status !== 'completed') throw new Error(`bench round ended ${status}: ${state.jobs.job(job.id).failure}`);
      if (r > 0) times.push(ms); // the first round warms up JIT and SQLite statements
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    return { agents, rounds, medianRoundMs: median, p95RoundMs: times[Math.min(times.length - 1, Math.ceil(0.95 * times.length) - 1)]!, perTaskMs: median / agents };
  } finally {
    state.close();
    await rm(dir, { recursive: true, force: true });
  }
}
