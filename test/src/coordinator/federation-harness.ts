import { openCoordinatorState, type CoordinatorState } from '@lgefed/coordinator/state';
import { JobEngine, WORKFLOWS, type TaskMessage, type TaskTransport } from '@lgefed/coordinator/workflow/index';
import { encodeWeights, decodeWeights, type WeightsHeader } from '@lgefed/protocol/weights-file';
import { architectureFromName } from '@lgefed/shared/model/architecture-name';
import { parameterCount, parameterLayout } from '@lgefed/shared/model/weights';
import { exportJWK, generateKeyPair } from 'jose';
import { readFile } from 'node:fs/promises';

/** A controllable clock so deadlines are tested by moving time, never by waiting. */
export class ManualClock {
  constructor(public t = 1_700_000_000_000) {}
  readonly now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Delivers tasks into per-site inboxes; a site marked offline gets nothing. */
export class InboxTransport implements TaskTransport {
  readonly inbox = new Map<string, TaskMessage[]>();
  readonly offline = new Set<string>();
  send(siteId: string, task: TaskMessage): boolean {
    if (this.offline.has(siteId)) return false;
    const box = this.inbox.get(siteId) ?? [];
    box.push(task);
    this.inbox.set(siteId, box);
    return true;
  }
  take(siteId: string): TaskMessage[] {
    const box = this.inbox.get(siteId) ?? [];
    this.inbox.set(siteId, []);
    return box;
  }
}

/** The smallest U-Net: the coordinator checks every returned model against its architecture's layout. */
export const ARCH = 'lite:stages=2,baseFeatures=2,maxFeatures=4,inputSize=16';
export const PARAMS = parameterCount(architectureFromName(ARCH));
export const LAYOUT: WeightsHeader = { architecture: ARCH, tensors: parameterLayout(architectureFromName(ARCH)).map(({ name, shape }) => ({ name, shape: [...shape] })) };

export async function enrolSites(state: CoordinatorState, names: readonly string[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const name of names) {
    const enrolment = state.sites.createEnrolment(name, 60_000, 'test');
    const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    state.sites.redeem(enrolment.token, await exportJWK(publicKey));
    ids.set(name, enrolment.site.id);
  }
  return ids;
}

/** Registers model versions a job may name; tests whose sites are simulated never open their weights. */
export function registerModels(state: CoordinatorState, ...hashes: string[]): void {
  for (const hash of hashes) state.jobs.registerModel(hash, ARCH, PARAMS, 'test');
}

export async function openEngine(dir: string, clock: ManualClock, transport: TaskTransport) {
  const state = await openCoordinatorState(dir, clock.now);
  const engine = new JobEngine({ ...state, transport, workflows: WORKFLOWS });
  return { state, engine };
}

/**
 * A simulated site's deterministic "training": the start weights plus `shift`, so the expected
 * FedAvg aggregate can be written down by hand.
 */
export async function simulatedTraining(state: CoordinatorState, task: TaskMessage, shift: number): Promise<string> {
  const payload = task.payload as { initialModel: string | null };
  const start = payload.initialModel ? decodeWeights(await readFile(state.models.path(payload.initialModel))).parameters : new Float32Array(PARAMS);
  const trained = start.map((v) => v + shift);
  return state.models.put(encodeWeights(LAYOUT, trained));
}

export function evaluationMetrics(task: TaskMessage, dice: number): Record<string, unknown> {
  const models = (task.payload as { models: { label: string }[] }).models;
  return Object.fromEntries(models.map((m) => [m.label, { bloodpool: { n: 10, mean: dice, sd: 0.05 }, myocardium: { n: 10, mean: dice - 0.1, sd: 0.05 } }]));
}
