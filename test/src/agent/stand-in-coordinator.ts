import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  defaultMessage,
  generateKeyPair,
  importPrivateJwk,
  importPublicJwk,
  packModel,
  PROTOCOL_VERSION,
  ReplayCache,
  Signer,
  Verifier,
  type AgentToCoordinatorEvents,
  type CoordinatorToAgentEvents,
  type MessageTypes,
  type OpenedAny,
} from '@lgefed/protocol';
import { encodeTensors } from '@lgefed/protocol/weights-file';
import type { NamedTensor } from '@lgefed/shared/model/weights';
import { Server, type Socket } from 'socket.io';

const SITE = 'site-x';

/**
 * A coordinator the test fully controls (socket.io and `/api/enrol`, its key pinned in the kit it
 * writes), for attacks a real coordinator would not send: the real agent process connects to it.
 */
export class StandInCoordinator {
  /** Every verified message the agent sent, in order. */
  readonly received: OpenedAny[] = [];
  /** Model chunks the agent uploaded. */
  chunks = 0;
  private site: Socket<AgentToCoordinatorEvents, CoordinatorToAgentEvents> | undefined;
  private hello: (() => void) | undefined;
  private verifier: Verifier | undefined;

  private constructor(
    private readonly http: HttpServer,
    private readonly io: Server<AgentToCoordinatorEvents, CoordinatorToAgentEvents>,
    private readonly signer: Signer,
    private readonly publicJwk: unknown,
    private readonly agentKey: () => unknown,
  ) {}

  static async start(): Promise<StandInCoordinator> {
    const pair = await generateKeyPair();
    let agentKey: unknown;
    const http = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        agentKey = (JSON.parse(body) as { publicKey: unknown }).publicKey;
        res.setHeader('content-type', 'application/json').end(JSON.stringify({ siteId: SITE, siteName: 'x', status: 'enrolled' }));
      });
    });
    const io = new Server<AgentToCoordinatorEvents, CoordinatorToAgentEvents>(http);
    const coordinator = new StandInCoordinator(http, io, new Signer(await importPrivateJwk(pair.privateJwk)), pair.publicJwk, () => agentKey);
    io.on('connection', (socket) => coordinator.accept(socket));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return coordinator;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /** Writes a startup kit for this coordinator. */
  async writeKit(file: string): Promise<void> {
    await writeFile(file, JSON.stringify({ format: 'lgefed-startup-kit/1', coordinatorUrl: this.url, coordinatorPublicKey: this.publicJwk, siteId: SITE, siteName: 'x', enrolmentToken: 'token', tokenExpiresAt: new Date(Date.now() + 60_000).toISOString() }));
  }

  /** Resolves at the agent's next verified SiteHello. */
  connected(): Promise<void> {
    return new Promise((resolve) => (this.hello = resolve));
  }

  /** Sends a signed TaskAssignment (defaults filled in) and returns the agent's reply. */
  async assign(assignment: Partial<MessageTypes['TaskAssignment']>): Promise<OpenedAny> {
    const full = { ...defaultMessage('TaskAssignment'), deadlineUnixMs: Date.now() + 120_000, ...assignment };
    return this.verifier!.openAny(await this.site!.timeout(10_000).emitWithAck('envelope', await this.signer.seal('TaskAssignment', full, SITE)));
  }

  /** Sends an assignment that names a model, then the model itself as the agent asks for it (manifest, chunks). */
  async assignWithModel(assignment: Partial<MessageTypes['TaskAssignment']>, architecture: string, tensors: readonly NamedTensor[]): Promise<OpenedAny> {
    const modelId = createHash('sha256').update(encodeTensors(architecture, tensors)).digest('hex');
    const model = packModel(tensors, { modelId, architecture: { ...defaultMessage('ModelManifest').architecture, name: architecture, parameterCount: tensors.reduce((n, t) => n + t.data.length, 0) } });
    const ack = await this.assign({ ...assignment, model: { modelId, architecture: model.manifest.architecture, sha256: model.manifestSha256 } });
    const wanted = await this.verifier!.openAny(await this.site!.timeout(10_000).emitWithAck('envelope', await this.signer.seal('ModelManifest', model.manifest, SITE)));
    for (const index of (wanted.message as MessageTypes['ChunkRequest']).indices) await this.site!.timeout(10_000).emitWithAck('chunk', model.chunk(index));
    return ack;
  }

  /** Waits for the agent's message about a task (a result or an ErrorReport). */
  async about(taskId: string, timeoutMs = 60_000): Promise<OpenedAny> {
    const started = Date.now();
    for (;;) {
      const found = this.received.find((m) => (m.message as { taskId?: string }).taskId === taskId && m.header.msg !== 'Progress');
      if (found) return found;
      if (Date.now() - started > timeoutMs) throw new Error(`no message about task ${taskId}; got ${this.received.map((m) => m.header.msg).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    this.io.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private accept(socket: Socket<AgentToCoordinatorEvents, CoordinatorToAgentEvents>): void {
    this.site = socket;
    socket.on('envelope', async (envelope, reply) => {
      this.verifier ??= new Verifier({ senders: [{ id: SITE, key: await importPublicJwk(this.agentKey()) }], replayCache: new ReplayCache() });
      const opened = await this.verifier.openAny(envelope);
      this.received.push(opened);
      if (opened.header.msg === 'SiteHello') {
        reply(await this.signer.seal('Enrolment', { siteId: SITE, accepted: true, reason: '', coordinatorVersion: 'test', protocolVersion: PROTOCOL_VERSION, heartbeatIntervalS: 0.5 }, SITE));
        this.hello?.();
      } else if (opened.header.msg === 'ModelManifest') {
        const manifest = opened.message as MessageTypes['ModelManifest'];
        reply(await this.signer.seal('ChunkRequest', { transferId: manifest.transferId, indices: manifest.chunks.map((_, i) => i) }, SITE));
      } else reply(await this.signer.seal('Ack', { messageId: opened.header.jti }, SITE));
    });
    socket.on('chunk', async (frame, reply) => {
      this.chunks++;
      reply(await this.signer.seal('Ack', { messageId: `chunk ${frame.byteLength}` }, SITE));
    });
  }
}
