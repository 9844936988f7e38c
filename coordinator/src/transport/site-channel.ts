import {
  CHUNK_WINDOW,
  sendInWindow,
  decodeChunkFrame,
  importPublicJwk,
  ReplayCache,
  Signer,
  PROTOCOL_VERSION,
  signedManifestDigest,
  thumbprint,
  Verifier,
  type AgentToCoordinatorEvents,
  type CoordinatorToAgentEvents,
  type Envelope,
  type ErrorReport,
  type EvaluationResult,
  type FineTuneResult,
  type HarmonisationReport,
  type MessageTypeName,
  type MessageTypes,
  type ModelManifest,
  type OpenedAny,
  type PublicJwk,
  type ReplayCacheOptions,
  type TrainResult,
} from '@lgefed/protocol';
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { CoordinatorError } from '../errors.js';
import type { CoordinatorState } from '../state.js';
import type { Json } from '../store/jobs.js';
import { SiteLastStates } from '../store/site-last-state.js';
import type { JobEngine } from '../workflow/engine.js';
import type { TaskMessage, TaskTransport } from '../workflow/transport.js';
import { Admission, type AdmissionOptions } from './admission.js';
import { ModelOffers, ModelUpload } from './model-offers.js';
import { PresenceBoard, type SitePresence } from './presence.js';
import { fineTuneMetrics, siteIntensityReport, structureSummaries } from './result-wire.js';
import { EMPTY_ARCHITECTURE, wireUnits } from './task-wire.js';
import { trainingCases } from './training-cases.js';
import { admitUpload } from './upload-admission.js';
import { claimedKid, coordinatorSigningKey, COORDINATOR_VERSION, errorReportFor, siteErrorOf, TransportError } from './wire.js';

/** The message of an envelope whose `header.msg` was checked to be `type`. */
function body<K extends MessageTypeName>(opened: OpenedAny, type: K): MessageTypes[K] {
  if (opened.header.msg !== type) throw new TransportError('unexpected_message', `expected ${type}, got ${opened.header.msg}`, 'ERROR_CODE_WRONG_TYPE');
  return opened.message as MessageTypes[K];
}

type SiteSocket = Socket<AgentToCoordinatorEvents, CoordinatorToAgentEvents>;

export interface SiteChannelOptions {
  /** How often agents send heartbeats (told to them at hello); default 5 s. */
  readonly heartbeatIntervalS?: number;
  /** How long to wait for a site to acknowledge a message; default 30 s. */
  readonly replyTimeoutMs?: number;
  /** Largest model a site may upload; default 1 GiB. */
  readonly maxUploadBytes?: number;
  /** Limits on connections that have not said a verified SiteHello yet. */
  readonly admission?: AdmissionOptions;
  /** Per-site bounds on remembered message ids (replay protection). */
  readonly replay?: ReplayCacheOptions;
  readonly log?: (line: string) => void;
}

/** One connection; it belongs to a site only after a verified SiteHello. */
interface Session {
  readonly socket: SiteSocket;
  readonly address: string;
  siteId: string | null;
  /** A hello is being verified: an unauthenticated connection gets one message at a time. */
  helloPending: boolean;
  readonly uploads: Map<string, ModelUpload>;
  /** When the site last sent a verified message (its heartbeat keeps this fresh). */
  lastSeenMs: number;
}

/** A second connection claiming an enrolled site whose first connection is live. */
class DuplicateConnection extends TransportError {
  constructor(
    readonly siteId: string,
    message: string,
  ) {
    super('site_already_connected', message, 'ERROR_CODE_UNKNOWN_SENDER');
  }
}

/** Verification failures after which the connection is dropped: the peer is not who it claims. */
const DROP_ON = new Set(['BAD_SIGNATURE', 'BAD_ALGORITHM', 'UNKNOWN_SENDER', 'EXPIRED', 'REPLAY', 'MALFORMED', 'TOO_LARGE', 'INVALID_KEY']);

/**
 * The signed site channel: socket.io on the coordinator's HTTP(S) server. A connection must open
 * with a verified SiteHello; anything else is dropped without a reply (admission.ts). After it,
 * every envelope is verified against the sending site's pinned key (looked up per message, so a
 * revocation applies at once), answered with a signed Ack/ErrorReport, and refusals are audited.
 * Implements the engine's TaskTransport: tasks go out as TaskAssignments, models as a signed
 * manifest whose chunks the site pulls (and pulls again after a disconnect, only what it lacks).
 */
export class SiteChannel implements TaskTransport {
  private io: Server<AgentToCoordinatorEvents, CoordinatorToAgentEvents> | undefined;
  private engine: JobEngine | undefined;
  private signer: Signer | undefined;
  private readonly verifier: Verifier;
  /** The key `x` the verifier holds for each site, to notice a re-keyed site. */
  private readonly pinnedX = new Map<string, string>();
  private kidToSite = new Map<string, string>();
  private readonly sessions = new Map<string, Session>();
  private readonly offers: ModelOffers;
  private readonly board: PresenceBoard;
  private readonly admission: Admission;
  private readonly heartbeatIntervalS: number;
  private readonly replyTimeoutMs: number;
  private readonly maxUploadBytes: number;
  private readonly log: (line: string) => void;

  constructor(
    private readonly state: CoordinatorState,
    options: SiteChannelOptions = {},
  ) {
    this.offers = new ModelOffers(state.models);
    this.board = new PresenceBoard(new SiteLastStates(state.db));
    this.verifier = new Verifier({ senders: [], replayCache: new ReplayCache(options.replay) });
    this.heartbeatIntervalS = options.heartbeatIntervalS ?? 5;
    this.replyTimeoutMs = options.replyTimeoutMs ?? 30_000;
    this.maxUploadBytes = options.maxUploadBytes ?? 1 << 30;
    this.log = options.log ?? ((line) => console.error(line));
    this.admission = new Admission(options.admission ?? {}, (entry) => void this.state.audit.append(entry));
  }

  /** Starts accepting sites on `server`; tasks for unconnected sites stay owed until they connect. */
  async attach(server: HttpServer, engine: JobEngine): Promise<void> {
    this.engine = engine;
    this.signer = new Signer(await coordinatorSigningKey(this.state.key));
    // Chunk frames are up to 1 MiB plus framing; envelopes are far smaller.
    this.io = new Server(server, { maxHttpBufferSize: 2 * 1024 * 1024, serveClient: false, cors: { origin: false } });
    this.io.on('connection', (socket) => this.accept(socket));
  }

  presence(siteId: string): SitePresence {
    return this.board.get(siteId);
  }

  send(siteId: string, task: TaskMessage): boolean {
    const session = this.sessions.get(siteId);
    if (!session) return false;
    void this.deliver(session, task).catch((err: Error) => this.log(`task ${task.taskId} to site ${siteId}: ${err.message}`));
    return true;
  }

  /** Refused unauthenticated connections and messages since start (audited or only counted). */
  get unauthenticatedRefusals(): number {
    return this.admission.refusedTotal;
  }

  async close(): Promise<void> {
    this.admission.close();
    this.io?.disconnectSockets(true);
    await new Promise<void>((resolve) => (this.io ? this.io.close(() => resolve()) : resolve()));
  }

  // ---------------------------------------------------------------------------------------------
  // Inbound

  private accept(socket: SiteSocket): void {
    const address = socket.handshake.address;
    if (!this.admission.admit(address)) {
      socket.disconnect(true);
      return;
    }
    const session: Session = { socket, address, siteId: null, helloPending: false, uploads: new Map(), lastSeenMs: Date.now() };
    const helloDeadline = setTimeout(() => session.siteId === null && this.dropUnauthenticated(session, new TransportError('hello_required', `no SiteHello within ${this.admission.helloTimeoutMs} ms`)), this.admission.helloTimeoutMs);
    socket.on('envelope', (envelope, reply) => void this.onEnvelope(session, envelope, reply));
    socket.on('chunk', (frame, reply) => void this.onChunk(session, frame, reply));
    socket.onAny((event: string) => {
      if (session.siteId === null && event !== 'envelope' && event !== 'chunk') this.dropUnauthenticated(session, new TransportError('hello_required', `event ${JSON.stringify(event).slice(0, 64)} before SiteHello`));
    });
    socket.on('disconnect', () => {
      clearTimeout(helloDeadline);
      this.admission.closed(address);
      const siteId = session.siteId;
      if (siteId && this.sessions.get(siteId) === session) {
        this.sessions.delete(siteId);
        this.board.disconnected(siteId);
        this.state.audit.append({ actor: `site:${siteId}`, type: 'site.disconnected', subject: siteId });
      }
    });
  }

  private async onEnvelope(session: Session, envelope: unknown, reply: unknown): Promise<void> {
    const answer = typeof reply === 'function' ? (reply as (e: Envelope) => void) : () => undefined;
    const unauthenticated = session.siteId === null;
    if (unauthenticated) {
      if (session.helloPending) return this.dropUnauthenticated(session, new TransportError('hello_required', 'a second message while the hello is verified'));
      session.helloPending = true;
    }
    let opened: OpenedAny;
    try {
      opened = await this.open(session, envelope);
    } catch (err) {
      if (err instanceof DuplicateConnection) await this.refuseDuplicate(session, err, answer);
      else if (unauthenticated) this.dropUnauthenticated(session, err);
      else await this.refuse(session, err, answer, true);
      return;
    } finally {
      session.helloPending = false;
    }
    session.lastSeenMs = Date.now();
    try {
      const [type, message] = await this.handle(session, opened);
      answer(await this.seal(opened.sender, type, message));
    } catch (err) {
      await this.refuse(session, err, answer, false, opened.header.jti, opened.sender);
    }
  }

  /** Verifies an envelope against the pinned key of the site it claims to come from. */
  private async open(session: Session, envelope: unknown): Promise<OpenedAny> {
    const siteId = await this.siteForKid(claimedKid(envelope));
    if (siteId) {
      const key = this.state.sites.trustedKey(siteId); // throws for revoked or unenrolled sites
      if (this.pinnedX.get(siteId) !== key.x) {
        // First message, or the site was re-keyed: its retired key must stop verifying at once.
        this.verifier.unpin(siteId);
        this.verifier.pin({ id: siteId, key: await importPublicJwk(key) });
        this.pinnedX.set(siteId, key.x!);
      }
    }
    if (siteId && session.siteId === null) {
      // A forged or tampered hello is rejected as such first. A genuine one from a second agent is
      // refused before it is opened: opening records its sequence numbers, which run ahead of the
      // live agent's (both start from the clock) and would lock that agent out.
      await this.verifier.checkSignature(envelope);
      this.assertNotConnected(siteId);
    }
    const opened = await this.verifier.openAny(envelope);
    if (session.siteId === null && opened.header.msg !== 'SiteHello') throw new TransportError('hello_required', 'the first message on a connection must be SiteHello');
    if (session.siteId !== null && opened.sender !== session.siteId) throw new TransportError('site_mismatch', 'message signed by another site than this connection belongs to');
    return opened;
  }

  /** Finds the site whose pinned key has this thumbprint, re-reading the registry on a miss (new or re-keyed sites). */
  private async siteForKid(kid: string | undefined): Promise<string | undefined> {
    if (!kid) return undefined;
    if (!this.kidToSite.has(kid)) {
      const fresh = new Map<string, string>();
      for (const site of this.state.sites.list()) {
        if (site.publicJwk) fresh.set(await thumbprint(site.publicJwk as unknown as PublicJwk), site.id);
      }
      this.kidToSite = fresh;
    }
    return this.kidToSite.get(kid);
  }

  /**
   * A second agent with an enrolled site's identity is refused while the first is live (heard from
   * within two heartbeats); a silent first connection is taken over, as after a restart.
   */
  private assertNotConnected(siteId: string): void {
    const live = this.sessions.get(siteId);
    if (!live?.socket.connected || Date.now() - live.lastSeenMs > 2 * this.heartbeatIntervalS * 1000 + 1000) return;
    const name = this.state.sites.get(siteId)?.name ?? siteId;
    throw new DuplicateConnection(siteId, `site ${name} is already connected from ${live.address}; a second agent with the same identity is refused while that one is live`);
  }

  /**
   * Told why (most likely a second copy of the agent started by mistake; only the connection state
   * of the site whose key it names is revealed), audited for `admin sites`, dropped.
   */
  private async refuseDuplicate(session: Session, err: DuplicateConnection, answer: (e: Envelope) => void): Promise<void> {
    const remote = session.socket.handshake.address;
    this.log(`site channel: refused a connection from ${remote}: ${err.message}`);
    this.state.audit.append({ actor: 'coordinator', type: 'site.duplicate_refused', subject: err.siteId, details: { siteId: err.siteId, remote, message: err.message } });
    try {
      answer(await this.seal(err.siteId, 'ErrorReport', errorReportFor(err)));
    } finally {
      setTimeout(() => session.socket.disconnect(true), 50);
    }
  }

  /** A connection that has not proven who it is: no reply, counted (and audited at most once per window), dropped. */
  private dropUnauthenticated(session: Session, err: unknown): void {
    if (!session.socket.connected) return;
    if (!(err instanceof TransportError) && !(err instanceof CoordinatorError) && !(err as { code?: string }).code) this.log(`site channel: ${(err as Error).stack ?? String(err)}`);
    this.admission.refused(session.address, (err as { code?: string }).code ?? 'internal', (err as Error).message);
    session.socket.disconnect(true);
  }

  private async refuse(session: Session, err: unknown, answer: (e: Envelope) => void, verification: boolean, relatedMessageId = '', audience = session.siteId): Promise<void> {
    const report = errorReportFor(err, relatedMessageId);
    const code = (err as { code?: string }).code ?? 'internal';
    // A hello that verified but is refused (e.g. protocol version) is answered, then dropped.
    const drop = session.siteId === null || (verification && (DROP_ON.has(code) || code === 'site_revoked' || code === 'unauthenticated' || code === 'site_mismatch'));
    this.state.audit.append({
      actor: session.siteId ? `site:${session.siteId}` : 'unauthenticated',
      type: verification ? 'transport.rejected' : 'transport.refused',
      details: { code, message: (err as Error).message, remote: session.socket.handshake.address, dropped: drop },
    });
    if (!(err instanceof TransportError) && !(err instanceof CoordinatorError) && !(err as { code?: string }).code) this.log(`site channel: ${(err as Error).stack ?? String(err)}`);
    try {
      answer(await this.seal(audience, 'ErrorReport', report));
    } finally {
      if (drop) setTimeout(() => session.socket.disconnect(true), 50);
    }
  }

  private async handle(session: Session, opened: OpenedAny): Promise<[MessageTypeName, MessageTypes[MessageTypeName]]> {
    const siteId = opened.sender;
    const ack = (): [MessageTypeName, MessageTypes['Ack']] => ['Ack', { messageId: opened.header.jti }];
    switch (opened.header.msg) {
      case 'SiteHello': {
        const hello = body(opened, 'SiteHello');
        if (hello.siteId !== siteId) throw new TransportError('site_mismatch', `hello names site ${hello.siteId} but is signed by ${siteId}`);
        if (hello.protocolVersion !== PROTOCOL_VERSION) throw new TransportError('protocol_version', `protocol version ${hello.protocolVersion} is not supported (${PROTOCOL_VERSION})`);
        const previous = this.sessions.get(siteId);
        if (previous && previous !== session) previous.socket.disconnect(true);
        session.siteId = siteId;
        this.sessions.set(siteId, session);
        this.board.connected(siteId, { agentVersion: hello.agentVersion, capabilities: hello.capabilities, datasets: hello.datasets });
        this.state.audit.append({ actor: `site:${siteId}`, type: 'site.connected', subject: siteId, details: { agentVersion: hello.agentVersion, datasets: hello.datasets.map((d) => ({ name: d.name, cases: d.caseCount })) } });
        // After the reply is on its way: send whatever the site still owes.
        setImmediate(() => this.engine?.siteConnected(siteId));
        return ['Enrolment', { siteId, accepted: true, reason: '', coordinatorVersion: COORDINATOR_VERSION, protocolVersion: PROTOCOL_VERSION, heartbeatIntervalS: this.heartbeatIntervalS }];
      }
      case 'Heartbeat': {
        const heartbeat = body(opened, 'Heartbeat');
        this.board.heartbeat(siteId, heartbeat.activeTaskIds, heartbeat.privacy);
        return ack();
      }
      case 'Progress': {
        const progress = body(opened, 'Progress');
        // Kept only for a task this site was sent: made-up task ids would grow the board without bound.
        const task = this.state.jobs.task(progress.taskId);
        if (task?.siteId === siteId && task.status === 'dispatched') this.board.progress(siteId, progress);
        return ack();
      }
      case 'ModelManifest':
        return ['ChunkRequest', this.startUpload(session, body(opened, 'ModelManifest'), opened.payload)];
      case 'TrainResult':
        await this.trainResult(siteId, session, body(opened, 'TrainResult'), opened.header.jti);
        return ack();
      case 'EvaluationResult':
        await this.evaluationResult(siteId, body(opened, 'EvaluationResult'), opened.header.jti);
        return ack();
      case 'FineTuneResult':
        await this.fineTuneResult(siteId, body(opened, 'FineTuneResult'), opened.header.jti);
        return ack();
      case 'HarmonisationReport':
        await this.harmonisationReport(siteId, body(opened, 'HarmonisationReport'), opened.header.jti);
        return ack();
      case 'ErrorReport':
        await this.siteError(siteId, body(opened, 'ErrorReport'));
        return ack();
      case 'ChunkRequest': {
        const request = body(opened, 'ChunkRequest');
        const offer = this.offers.byTransferId(request.transferId);
        if (!offer) throw new TransportError('unknown_transfer', `no model transfer ${request.transferId} is on offer`);
        void this.sendChunks(session, offer.package, request.indices).catch((err: Error) => this.log(`chunks to site ${siteId}: ${err.message}`));
        return ack();
      }
      case 'Ack':
        return ack();
      default:
        throw new TransportError('unexpected_message', `sites do not send ${opened.header.msg}`, 'ERROR_CODE_WRONG_TYPE');
    }
  }

  private startUpload(session: Session, manifest: ModelManifest, payload: Uint8Array): MessageTypes['ChunkRequest'] {
    let upload = session.uploads.get(manifest.transferId);
    if (!upload) {
      admitUpload(manifest, this.state.jobs.openTasksForSite(session.siteId!), session.uploads.size);
      upload = new ModelUpload(manifest, signedManifestDigest(payload), this.state.models, this.maxUploadBytes);
      session.uploads.set(manifest.transferId, upload);
    }
    return { transferId: manifest.transferId, indices: upload.missing };
  }

  private async onChunk(session: Session, frame: unknown, reply: unknown): Promise<void> {
    const answer = typeof reply === 'function' ? (reply as (e: Envelope) => void) : () => undefined;
    if (session.siteId === null) return this.dropUnauthenticated(session, new TransportError('hello_required', 'a chunk before SiteHello'));
    try {
      if (!(frame instanceof Uint8Array)) throw new TransportError('unexpected_message', 'a chunk must be a binary frame', 'ERROR_CODE_MALFORMED');
      const { transferId } = decodeChunkFrame(frame);
      const upload = session.uploads.get(transferId);
      if (!upload) throw new TransportError('unknown_transfer', `no manifest was sent for transfer ${transferId}`, 'ERROR_CODE_CHUNK_MISMATCH');
      await upload.accept(frame);
      answer(await this.seal(session.siteId, 'Ack', { messageId: `${transferId}` }));
    } catch (err) {
      await this.refuse(session, err, answer, false);
    }
  }

  private async trainResult(siteId: string, session: Session, result: TrainResult, messageId: string): Promise<void> {
    const upload = session.uploads.get(result.weightsTransferId);
    if (!upload || !upload.complete) throw new TransportError('upload_incomplete', `weights ${result.weightsTransferId} were not uploaded completely on this connection`);
    if (!Buffer.from(upload.manifestSha256).equals(Buffer.from(result.weightsManifestSha256))) {
      throw new TransportError('upload_incomplete', 'the result quotes another manifest than the one uploaded', 'ERROR_CODE_CHUNK_MISMATCH');
    }
    const modelHash = await upload.storedHash();
    const last = result.lossCurve.at(-1);
    // The whole curve is kept: a finished training job's figures show it.
    const metrics: Record<string, number | number[]> = { epochs: result.lossCurve.length, lossCurve: result.lossCurve.map((p) => p.trainLoss) };
    if (last) {
      metrics['loss'] = last.trainLoss;
      if (last.validationLoss > 0) metrics['validationLoss'] = last.validationLoss;
    }
    const cases = trainingCases(result.sampleCount, this.board.get(siteId).datasets);
    if (cases.count < cases.claimed) this.state.audit.append({ actor: `site:${siteId}`, type: 'result.cases_capped', subject: result.jobId, details: { taskId: result.taskId, ...cases } });
    await this.requireEngine().handleResult(siteId, { resultId: messageId, taskId: result.taskId, metrics: metrics as Json, modelHash, numExamples: cases.count });
    session.uploads.delete(result.weightsTransferId);
  }

  /** Collects one EvaluationResult per model of the task (kept in the store); the last one completes the result. */
  private async evaluationResult(siteId: string, result: EvaluationResult, messageId: string): Promise<void> {
    const task = this.state.jobs.task(result.taskId);
    if (!task || task.siteId !== siteId) throw new CoordinatorError('task_not_assigned', `task ${result.taskId} is not assigned to this site`);
    const models = ((task.payload as { models?: { label: string; hash: string }[] }).models ?? []);
    const labels = models.filter((m) => m.hash === result.model.modelId).map((m) => m.label);
    if (labels.length === 0) throw new TransportError('unexpected_message', `task ${task.id} did not ask for model ${result.model.modelId}`);
    const summaries = structureSummaries(result.aggregates, `evaluation of ${result.model.modelId}`) as unknown as Json;
    if (result.cases.length > 0) {
      this.state.audit.append({ actor: `site:${siteId}`, type: 'result.per_case_metrics', subject: task.jobId, details: { taskId: task.id, model: result.model.modelId, cases: result.cases as unknown as Json } });
    }
    const cases = Math.max(...result.aggregates.map((a) => a.caseCount));
    // Stored before the ack: a coordinator restarted mid-task still holds every model scored so far.
    for (const label of labels) this.state.jobs.recordPartialResult(task.id, label, summaries, cases, messageId);
    const collected = new Map(this.state.jobs.partialResults(task.id).map((p) => [p.label, p]));
    this.board.modelScored(siteId, task.id, collected.size);
    if (models.some((m) => !collected.has(m.label))) return;
    const metrics = Object.fromEntries(models.map((m) => [m.label, collected.get(m.label)!.metrics]));
    const numExamples = Math.max(...[...collected.values()].map((c) => c.numExamples));
    await this.requireEngine().handleResult(siteId, { resultId: collected.get(models[0]!.label)!.messageId, taskId: task.id, metrics, numExamples });
    this.state.jobs.clearPartialResults(task.id);
  }

  /** A fine-tune variant's scores; the fine-tuned weights stay at the site. */
  private async fineTuneResult(siteId: string, result: FineTuneResult, messageId: string): Promise<void> {
    if (result.siteId !== siteId) throw new TransportError('site_mismatch', `result names site ${result.siteId} but is signed by ${siteId}`);
    const metrics = fineTuneMetrics(result);
    await this.requireEngine().handleResult(siteId, { resultId: messageId, taskId: result.taskId, metrics: metrics as unknown as Json, numExamples: metrics.trainCases });
  }

  /** A site's differentially private intensity report. */
  private async harmonisationReport(siteId: string, report: HarmonisationReport, messageId: string): Promise<void> {
    if (report.siteId !== siteId) throw new TransportError('site_mismatch', `report names site ${report.siteId} but is signed by ${siteId}`);
    await this.requireEngine().handleResult(siteId, { resultId: messageId, taskId: report.taskId, metrics: siteIntensityReport(report) as unknown as Json, numExamples: report.caseCount });
  }

  /** A site's ErrorReport about a task: a local-policy refusal is final, anything retryable is a failure. */
  private async siteError(siteId: string, report: ErrorReport): Promise<void> {
    if (!report.taskId) {
      this.state.audit.append({ actor: `site:${siteId}`, type: 'site.error_report', details: { code: report.code, message: report.message, related: report.relatedMessageId } });
      return;
    }
    this.state.jobs.clearPartialResults(report.taskId);
    const error = siteErrorOf(report);
    if (report.retryable) await this.requireEngine().handleFailure(siteId, report.taskId, error);
    else await this.requireEngine().handleRefusal(siteId, report.taskId, error);
  }

  // ---------------------------------------------------------------------------------------------
  // Outbound

  private async deliver(session: Session, task: TaskMessage): Promise<void> {
    const siteId = session.siteId!;
    let units;
    try {
      units = wireUnits(task);
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      await this.requireEngine().handleRefusal(siteId, task.taskId, { code: err.code, message: err.message });
      return;
    }
    for (const unit of units) {
      const offer = unit.modelHash ? await this.offers.offer(unit.modelHash) : undefined;
      const model = {
        modelId: unit.modelHash ?? '',
        architecture: { ...EMPTY_ARCHITECTURE, name: unit.architecture ?? offer!.architecture, parameterCount: offer?.package.manifest.parameterCount ?? 0 },
        sha256: offer ? offer.package.manifestSha256 : new Uint8Array(0),
      };
      const reply = await this.request(session, 'TaskAssignment', { ...unit.assignment, model });
      if (reply.header.msg === 'ErrorReport') {
        await this.siteError(siteId, { ...body(reply, 'ErrorReport'), taskId: task.taskId, jobId: task.jobId });
        return;
      }
      if (offer) {
        const wanted = await this.request(session, 'ModelManifest', offer.package.manifest);
        if (wanted.header.msg === 'ChunkRequest') await this.sendChunks(session, offer.package, body(wanted, 'ChunkRequest').indices);
      }
    }
  }

  /** CHUNK_WINDOW chunks in flight; a disconnect stops the sending (the site asks again for what it lacks). */
  private async sendChunks(session: Session, modelPackage: { chunk(i: number): Uint8Array; readonly chunkCount: number }, indices: readonly number[]): Promise<void> {
    await sendInWindow(indices.filter((index) => index < modelPackage.chunkCount), CHUNK_WINDOW, async (index) => {
      if (!session.socket.connected) return;
      const reply = await this.verifyReply(session, await session.socket.timeout(this.replyTimeoutMs).emitWithAck('chunk', modelPackage.chunk(index)));
      if (reply.header.msg === 'ErrorReport') throw new TransportError('unknown_transfer', `site refused chunk ${index}: ${body(reply, 'ErrorReport').message}`);
    });
  }

  /** Sends a signed message and returns the site's verified reply. */
  private async request<K extends MessageTypeName>(session: Session, type: K, message: MessageTypes[K]): Promise<OpenedAny> {
    const envelope = await this.seal(session.siteId, type, message);
    return this.verifyReply(session, await session.socket.timeout(this.replyTimeoutMs).emitWithAck('envelope', envelope));
  }

  private async verifyReply(session: Session, reply: unknown): Promise<OpenedAny> {
    try {
      return await this.open(session, reply);
    } catch (err) {
      this.state.audit.append({ actor: `site:${session.siteId}`, type: 'transport.rejected', details: { code: (err as { code?: string }).code ?? 'internal', message: (err as Error).message, reply: true } });
      session.socket.disconnect(true);
      throw err;
    }
  }

  /** Every message names the site it is for (`aud`), so it cannot be replayed to another site. */
  private seal<K extends MessageTypeName>(siteId: string | null, type: K, message: MessageTypes[K]): Promise<Envelope> {
    if (!this.signer) throw new Error('site channel is not attached');
    return this.signer.seal(type, message, siteId ?? undefined);
  }

  private requireEngine(): JobEngine {
    if (!this.engine) throw new Error('site channel is not attached');
    return this.engine;
  }
}
