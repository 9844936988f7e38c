import { randomUUID } from 'node:crypto';
import { CompactSign } from 'jose';
import {
  defaultMessage,
  encodeMessage,
  importPrivateJwk,
  packModel,
  type DatasetSummary,
  type Envelope,
  type MessageTypeName,
  type MessageTypes,
  type ModelPackage,
  type OpenedAny,
} from '@lgefed/protocol';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type RunningCoordinator } from '@lgefed/coordinator/server';
import { architectureFromName } from '@lgefed/shared/model/architecture-name';
import { parameterLayout } from '@lgefed/shared/model/weights';
import { hello, redeem, siteKey, SiteSocket } from './site-socket.js';

type TaskAssignment = MessageTypes['TaskAssignment'];

/**
 * An enrolled site driven by hand over the real socket.io channel: it says its hello with the
 * datasets it chooses, takes task assignments, uploads weights in chunks and sends whatever
 * result it likes — an attacker's agent, or a second implementation's.
 */
export class HandSite {
  private readonly assignments: TaskAssignment[] = [];
  private waiting: ((task: TaskAssignment) => void) | undefined;
  /** Envelope sequence numbers: one counter for everything this site signs. */
  private seq = Date.now() * 1000;

  private constructor(
    readonly siteId: string,
    readonly socket: SiteSocket,
    readonly key: Awaited<ReturnType<typeof siteKey>>,
  ) {
    // The coordinator's requests (task assignments) want a signed reply through the ack.
    socket.socket.on('envelope', (envelope: Envelope, answer: (reply: Envelope) => void) => void this.onEnvelope(envelope, answer));
  }

  static async join(coordinator: RunningCoordinator, name: string, datasets: readonly DatasetSummary[]): Promise<HandSite> {
    const kit = coordinator.state.sites.createEnrolment(name, 60_000, 'admin');
    const key = await siteKey();
    await redeem(coordinator.url, kit.token, key.pair.publicJwk);
    const site = new HandSite(kit.site.id, await SiteSocket.connect(coordinator.url, coordinator.state.key.publicJwk), key);
    const reply = await site.send('SiteHello', { ...hello(kit.site.id), datasets });
    if (reply.header.msg !== 'Enrolment') throw new Error(`hello answered with ${reply.header.msg}`);
    return site;
  }

  /** The same site (same key) connecting again, e.g. to a restarted coordinator. */
  async reconnect(coordinator: RunningCoordinator, datasets: readonly DatasetSummary[]): Promise<HandSite> {
    this.close();
    const site = new HandSite(this.siteId, await SiteSocket.connect(coordinator.url, coordinator.state.key.publicJwk), this.key);
    const reply = await site.send('SiteHello', { ...hello(this.siteId), datasets });
    if (reply.header.msg !== 'Enrolment') throw new Error(`hello answered with ${reply.header.msg}`);
    return site;
  }

  private async onEnvelope(envelope: Envelope, answer: (reply: Envelope) => void): Promise<void> {
    const opened = await this.socket.open(envelope);
    answer(await this.seal('Ack', { messageId: opened.header.jti }));
    if (opened.header.msg !== 'TaskAssignment') return;
    const task = opened.message as TaskAssignment;
    if (this.waiting) {
      this.waiting(task);
      this.waiting = undefined;
    } else this.assignments.push(task);
  }

  nextTask(): Promise<TaskAssignment> {
    const queued = this.assignments.shift();
    return queued ? Promise.resolve(queued) : new Promise((resolve) => (this.waiting = resolve));
  }

  async send<K extends MessageTypeName>(type: K, message: MessageTypes[K]): Promise<OpenedAny> {
    return this.socket.send(await this.seal(type, message));
  }

  seal<K extends MessageTypeName>(type: K, message: MessageTypes[K]): Promise<Envelope> {
    return this.sealBytes(type, encodeMessage(type, message));
  }

  /** Sends a manifest (as given, or the package's own) and then every chunk the coordinator asks for. */
  async upload(weights: ModelPackage, manifestEnvelope?: Envelope): Promise<void> {
    const wanted = await this.socket.send(manifestEnvelope ?? (await this.seal('ModelManifest', weights.manifest)));
    if (wanted.header.msg !== 'ChunkRequest') throw new Error(`manifest answered with ${wanted.header.msg}: ${JSON.stringify(wanted.message)}`);
    for (const index of (wanted.message as MessageTypes['ChunkRequest']).indices) {
      const reply = await this.socket.sendChunk(weights.chunk(index));
      if (reply.header.msg !== 'Ack') throw new Error(`chunk ${index} answered with ${reply.header.msg}: ${JSON.stringify(reply.message)}`);
    }
  }

  /** A TrainResult for `task` quoting `weights`, claiming `sampleCount` cases. */
  trainResult(task: TaskAssignment, weights: ModelPackage, sampleCount: number, manifestSha256 = weights.manifestSha256): Promise<OpenedAny> {
    return this.send('TrainResult', {
      ...defaultMessage('TrainResult'),
      jobId: task.jobId,
      taskId: task.taskId,
      round: task.round,
      siteId: this.siteId,
      weightsKind: 'WEIGHTS_KIND_FULL',
      weightsTransferId: weights.manifest.transferId,
      weightsManifestSha256: manifestSha256,
      baseModel: task.model,
      sampleCount,
      lossCurve: [{ epoch: 1, step: 0, trainLoss: 0.5, validationLoss: 0 }],
    });
  }

  /**
   * An envelope over payload bytes that another protobuf encoder wrote, signed as any JWS library
   * would: the signature covers those bytes, whatever our encoder would have made of the message.
   */
  async sealBytes(type: MessageTypeName, payload: Uint8Array): Promise<Envelope> {
    const key = await importPrivateJwk(this.key.pair.privateJwk);
    const iat = Math.floor(Date.now() / 1000);
    const header = { alg: 'EdDSA', typ: 'lgefed+jws', kid: key.kid, msg: type, jti: randomUUID(), iat, exp: iat + 300, seq: this.seq++ };
    return new CompactSign(payload).setProtectedHeader(header).sign(key.privateKey);
  }

  close(): void {
    this.socket.close();
  }
}

/** Weights of the task's architecture, every parameter `value`, packed for upload. */
export function constantWeights(task: TaskAssignment, value: number): ModelPackage {
  const tensors = parameterLayout(architectureFromName(task.model.architecture.name)).map(({ name, shape }) => ({ name, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value) }));
  const parameterCount = tensors.reduce((n, t) => n + t.data.length, 0);
  return packModel(tensors, { modelId: '', architecture: { ...task.model.architecture, parameterCount } });
}

export const dataset = (labelledCaseCount: number): DatasetSummary => ({ name: 'lge', caseCount: labelledCaseCount, labelledCaseCount, sliceCount: 10 * labelledCaseCount, labelledSliceCount: 10 * labelledCaseCount });

/**
 * A real coordinator on a temporary state directory with hand-driven sites joined (name → labelled
 * cases), started before and closed after the calling describe block; read its fields inside tests.
 */
export function coordinatorWithHandSites(prefix: string, sites: Readonly<Record<string, number>>): { coordinator: RunningCoordinator; sites: Record<string, HandSite> } {
  const fixture = { coordinator: undefined as unknown as RunningCoordinator, sites: {} as Record<string, HandSite> };
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `lgefed-${prefix}-`));
    fixture.coordinator = await startCoordinator({ stateDir: dir, port: 0 });
    for (const [name, cases] of Object.entries(sites)) fixture.sites[name] = await HandSite.join(fixture.coordinator, name, [dataset(cases)]);
  });
  after(async () => {
    for (const site of Object.values(fixture.sites)) site.close();
    await fixture.coordinator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return fixture;
}
