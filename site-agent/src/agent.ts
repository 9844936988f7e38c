import {
  CHUNK_WINDOW,
  sendInWindow,
  importPublicJwk,
  isProtocolError,
  ModelReassembler,
  PROTOCOL_VERSION,
  ReplayCache,
  Signer,
  signedManifestDigest,
  Verifier,
  wireErrorCode,
  type AgentToCoordinatorEvents,
  type Capabilities,
  type CoordinatorToAgentEvents,
  type Envelope,
  type ErrorCode,
  type MessageTypeName,
  type MessageTypes,
  type MlBackend,
  type ModelPackage,
  type OpenedAny,
  type TaskAssignment,
} from '@lgefed/protocol';
import { encodeTensors } from '@lgefed/protocol/weights-file';
import { initEngine, type BackendRequest } from '@lgefed/shared/engine/index';
import type { NamedTensor } from '@lgefed/shared/model/weights';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type { SiteTask } from './assignment.js';
import { AgentAuditLog } from './audit-log.js';
import type { SiteConfig } from './config.js';
import { registerDatasets, type RegisteredDataset } from './datasets.js';
import { PolicyRefusal } from './errors.js';
import { siteSafeText } from './outbound-error.js';
import { ensureEnrolled, loadOrCreateSiteKey, type EnrolmentRecord } from './identity.js';
import { describeConnectionError } from './connection-errors.js';
import type { StartupKit } from './kit.js';
import { admitAssignment, checkWeightsCases, filterOutbound } from './policy.js';
import { PrivacyLedger } from './privacy/ledger.js';
import { execute } from './tasks/execute.js';
import { TaskFailure } from './tasks/run-task.js';

export const AGENT_VERSION = '0.1.0';
/** Acknowledged results kept for a coordinator that asks again (scores and reports: a few kB each). */
const KEPT_RESULTS = 256;

export interface AgentOptions {
  /** Needed only to enrol: later starts connect with the identity kept in the state dir. */
  readonly kit?: StartupKit;
  readonly config: SiteConfig;
  /** Writes every engine.io packet the agent sends to this file (JSON lines), for audits of what left. */
  readonly captureFile?: string;
  readonly log?: (line: string) => void;
  /** Reconnect backoff: first delay and ceiling, ms (default 500 and 10 000, ±50 % jitter). */
  readonly reconnectDelayMs?: number;
  readonly reconnectDelayMaxMs?: number;
}

type AgentSocket = Socket<CoordinatorToAgentEvents, AgentToCoordinatorEvents>;

/** One unit of work: a TaskAssignment (an evaluate task has one per model) and what it was read as. */
interface Unit {
  readonly key: string;
  readonly assignment: TaskAssignment;
  readonly task: SiteTask;
  readonly dataset: RegisteredDataset;
  started: boolean;
}

/** What a finished unit still has to send; re-run after a reconnect until acknowledged. */
type Delivery = () => Promise<void>;

const BACKEND_WIRE: Readonly<Record<string, MlBackend>> = { 'tensorflow-gpu': 'ML_BACKEND_TFJS_NODE_GPU', tensorflow: 'ML_BACKEND_TFJS_NODE', wasm: 'ML_BACKEND_TFJS_WASM', cpu: 'ML_BACKEND_TFJS_CPU' };

/**
 * The site agent: enrols once, then keeps a signed socket.io connection to the coordinator
 * (reconnecting with exponential backoff and jitter), runs admitted tasks in worker threads and
 * sends back only what local policy lets out, logging every outbound message.
 */
export class SiteAgent {
  private socket: AgentSocket | undefined;
  private signer!: Signer;
  private signingKey!: ConstructorParameters<typeof Signer>[0];
  private identity!: EnrolmentRecord;
  /** The last reason a connection attempt failed, so a coordinator that stays down is logged once, not per retry. */
  private lastConnectError = '';
  private verifier!: Verifier;
  private datasets: RegisteredDataset[] = [];
  private capabilities!: Capabilities;
  private audit!: AgentAuditLog;
  private ledger!: PrivacyLedger;
  private heartbeat: NodeJS.Timeout | undefined;
  private helloDone = false;
  private readonly units = new Map<string, Unit>();
  /** Models received or cached, by store hash. */
  private readonly models = new Map<string, NamedTensor[]>();
  /** Downloads in progress by transfer id, with the model hash they must produce. */
  private readonly downloads = new Map<string, { reassembler: ModelReassembler; hash: string; architecture: string }>();
  /** Results not yet acknowledged: re-sent after every reconnect. */
  private readonly outbox = new Map<string, () => Promise<void>>();
  /**
   * Results without weights (scores, reports), kept after their ack so a coordinator that asks for a
   * finished unit again (it lost what it had acknowledged) gets them again; the newest only.
   */
  private readonly delivered = new Map<string, () => Promise<void>>();
  private readonly running = new Map<string, AbortController>();
  private readonly log: (line: string) => void;
  private lastProgressAt = 0;
  private stopped = false;
  /** Consecutive times the coordinator dropped us; drives the backoff of our own reconnects. */
  private drops = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AgentOptions) {
    this.log = options.log ?? ((line) => console.log(line));
  }

  get siteId(): string {
    return this.identity.siteId;
  }

  async start(): Promise<void> {
    const { config, kit } = this.options;
    const { key, created } = await loadOrCreateSiteKey(config.stateDir);

    if (created) this.log(`generated the site key ${key.kid} in ${config.stateDir}`);
    this.audit = new AgentAuditLog(join(config.stateDir, 'audit.jsonl'));
    this.ledger = new PrivacyLedger(join(config.stateDir, 'privacy-ledger.json'), config.policy.privacyBudgetEpsilon);
    this.datasets = await registerDatasets(config);
    for (const d of this.datasets) {
      this.log(`dataset ${d.config.name}: ${d.summary.labelledCaseCount}/${d.summary.caseCount} labelled case(s); split train ${d.split.train.length}, validation ${d.split.validation.length}, test ${d.split.test.length}`);
      for (const p of d.problems) this.log(`  skipped: ${p}`);
      for (const w of d.warnings) this.log(`  warning: ${w}`);
    }
    const engine = await initEngine({ ...(config.backend ? { backend: config.backend as BackendRequest } : {}), log: () => undefined });
    this.capabilities = {
      mlBackend: BACKEND_WIRE[engine.backend] ?? 'ML_BACKEND_UNSPECIFIED',
      gpus: engine.gpu ? [{ name: 'cuda', memoryMib: 0, computeCapability: '' }] : [],
      memoryMib: Math.floor(totalmem() / 2 ** 20),
      cpuCores: cpus().length,
    };
    this.identity = await ensureEnrolled(config.stateDir, kit, key);
    this.signingKey = key;
    this.verifier = new Verifier({ audience: this.identity.siteId, senders: [{ id: 'coordinator', key: await importPublicJwk(this.identity.coordinatorPublicKey as Parameters<typeof importPublicJwk>[0]) }], replayCache: new ReplayCache() });
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.reconnectTimer);
    for (const c of this.running.values()) c.abort('agent stopping');
    this.socket?.disconnect();
  }

  // ---------------------------------------------------------------------------------------------
  // Connection

  private connect(): void {
    const url = this.identity.coordinatorUrl;
    const socket: AgentSocket = io(url, {
      transports: ['websocket'],
      reconnectionDelay: this.options.reconnectDelayMs ?? 500,
      reconnectionDelayMax: this.options.reconnectDelayMaxMs ?? 10_000,
      randomizationFactor: 0.5,
    });
    this.socket = socket;
    if (this.options.captureFile) {
      const file = this.options.captureFile;
      socket.io.on('open', () =>
        socket.io.engine.on('packetCreate', (packet: { type: string; data?: unknown }) => {
          const data = packet.data instanceof Uint8Array || packet.data instanceof ArrayBuffer ? { base64: Buffer.from(packet.data as Uint8Array).toString('base64') } : { text: packet.data ?? null };
          appendFileSync(file, `${JSON.stringify({ type: packet.type, ...data })}\n`);
        }),
      );
    }
    socket.on('connect_error', (err) => {
      const why = describeConnectionError(url, err);
      if (why !== this.lastConnectError) this.log(`${why}; retrying`);
      this.lastConnectError = why;
    });
    socket.on('connect', () => {
      this.lastConnectError = '';
      // A fresh signer per connection starts its sequence numbers from the clock, above any another
      // holder of this key (a duplicate agent, a crashed run) used meanwhile: never locked out as a replay.
      this.signer = new Signer(this.signingKey);
      void this.hello().catch((err: Error) => this.log(`hello failed: ${err.message}`));
    });
    socket.on('disconnect', (reason) => {
      this.helloDone = false;
      clearInterval(this.heartbeat);
      this.log(`disconnected (${reason})`);
      // The server dropping us is not retried by socket.io itself: back off exponentially, with jitter.
      if (reason === 'io server disconnect' && !this.stopped) {
        const base = Math.min(this.options.reconnectDelayMaxMs ?? 10_000, (this.options.reconnectDelayMs ?? 500) * 2 ** this.drops++);
        this.reconnectTimer = setTimeout(() => socket.connect(), base * (0.5 + Math.random()));
      }
    });
    socket.on('envelope', (envelope, reply) => void this.onEnvelope(envelope, reply));
    socket.on('chunk', (frame, reply) => void this.onChunk(frame, reply));
  }

  private async hello(): Promise<void> {
    const reply = await this.request('SiteHello', {
      siteId: this.siteId,
      agentVersion: AGENT_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      capabilities: this.capabilities,
      datasets: this.datasets.map((d) => d.summary),
    });
    if (reply.header.msg !== 'Enrolment' || !(reply.message as MessageTypes['Enrolment']).accepted) {
      const { message, reason } = reply.message as { message?: string; reason?: string };
      this.log(`coordinator refused the connection: ${message ?? reason ?? JSON.stringify(reply.message)}; retrying with backoff`);
      return;
    }
    const intervalMs = Math.max(0.2, (reply.message as MessageTypes['Enrolment']).heartbeatIntervalS) * 1000;
    this.helloDone = true;
    this.drops = 0;
    this.log(`connected to ${this.identity.coordinatorUrl} as ${this.identity.siteName}`);
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => void this.sendHeartbeat(), intervalMs);
    for (const [key, deliver] of this.outbox) {
      void deliver().then(
        () => this.outbox.delete(key),
        (err: Error) => this.log(`re-sending ${key}: ${err.message}`),
      );
    }
  }

  private async sendHeartbeat(): Promise<void> {
    // A damaged ledger reports nothing (and refuses every release) rather than stopping heartbeats.
    const balance = await this.ledger.balance().catch(() => ({ spentEpsilon: 0, budgetEpsilon: 0 }));
    const privacy = { spentEpsilon: balance.spentEpsilon, budgetEpsilon: balance.budgetEpsilon };
    await this.request('Heartbeat', { siteId: this.siteId, activeTaskIds: [...new Set([...this.running.keys()].map((k) => k.split('/')[0]!))], freeMemoryMib: Math.floor(freemem() / 2 ** 20), gpuUtilisation: 0, privacy }).catch(
      (err: Error) => this.log(`heartbeat: ${err.message}`),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Outbound: everything passes the policy filter, is signed, logged, then sent.

  private async request<K extends MessageTypeName>(type: K, message: MessageTypes[K]): Promise<OpenedAny> {
    const socket = this.requireSocket();
    const filtered = filterOutbound(this.options.config.policy, type, message);
    const envelope = await this.signer.seal(type, filtered);
    await this.audit.record('out', type, envelope);
    return this.verifier.openAny(await socket.timeout(30_000).emitWithAck('envelope', envelope));
  }

  private async sendChunk(frame: Uint8Array): Promise<OpenedAny> {
    const socket = this.requireSocket();
    filterOutbound(this.options.config.policy, 'chunk', frame);
    await this.audit.record('out', 'chunk', frame);
    return this.verifier.openAny(await socket.timeout(60_000).emitWithAck('chunk', frame));
  }

  private async reply<K extends MessageTypeName>(answer: unknown, type: K, message: MessageTypes[K]): Promise<void> {
    const envelope = await this.signer.seal(type, filterOutbound(this.options.config.policy, type, message));
    await this.audit.record('out', `${type} (reply)`, envelope);
    if (typeof answer === 'function') (answer as (e: Envelope) => void)(envelope);
  }

  private requireSocket(): AgentSocket {
    if (!this.socket?.connected) throw new TaskFailure('Disconnected', 'not connected to the coordinator', true);
    return this.socket;
  }

  // ---------------------------------------------------------------------------------------------
  // Inbound

  private async onEnvelope(envelope: unknown, answer: unknown): Promise<void> {
    let opened: OpenedAny;
    try {
      opened = await this.verifier.openAny(envelope);
    } catch (err) {
      await this.rejectInbound(err, envelope, answer);
      return;
    }
    try {
      switch (opened.header.msg) {
        case 'TaskAssignment':
          return await this.onAssignment(opened.message as TaskAssignment, answer, opened.header.jti);
        case 'ModelManifest': {
          const manifest = opened.message as MessageTypes['ModelManifest'];
          return await this.reply(answer, 'ChunkRequest', this.onManifest(manifest, opened.payload));
        }
        case 'Ack':
        case 'ErrorReport':
          return await this.reply(answer, 'Ack', { messageId: opened.header.jti });
        default:
          return await this.reply(answer, 'ErrorReport', { code: 'ERROR_CODE_WRONG_TYPE', message: `[unexpected_message] agents do not accept ${opened.header.msg}`, relatedMessageId: opened.header.jti, jobId: '', taskId: '', retryable: false });
      }
    } catch (err) {
      this.log(`handling ${opened.header.msg}: ${(err as Error).message}`);
      await this.reply(answer, 'ErrorReport', { code: 'ERROR_CODE_INTERNAL', message: `[internal] ${siteSafeText(err, this.log)}`, relatedMessageId: opened.header.jti, jobId: '', taskId: '', retryable: true });
    }
  }

  /** A message that fails verification is refused with the reason and written to the local log. */
  private async rejectInbound(err: unknown, envelope: unknown, answer: unknown): Promise<void> {
    const code: ErrorCode = isProtocolError(err) ? wireErrorCode(err) : 'ERROR_CODE_MALFORMED';
    const text = isProtocolError(err) ? `[${err.code.toLowerCase()}] ${err.message}` : `[malformed] ${(err as Error).message}`;
    this.log(`refused an inbound message: ${text}`);
    await this.audit.record('in', 'inbound.rejected', typeof envelope === 'string' ? envelope : JSON.stringify(envelope ?? null), text);
    await this.reply(answer, 'ErrorReport', { code, message: text, relatedMessageId: '', jobId: '', taskId: '', retryable: false });
  }

  private async onAssignment(assignment: TaskAssignment, answer: unknown, messageId: string): Promise<void> {
    const key = `${assignment.taskId}/${assignment.model.modelId}`;
    if (this.units.has(key)) {
      // Re-sent after a reconnect: still running or queued in the outbox, it is sent when done; a
      // result already acknowledged goes again, since the coordinator would not ask if it had it.
      await this.reply(answer, 'Ack', { messageId });
      const again = this.outbox.has(key) ? undefined : this.delivered.get(key);
      if (again && this.helloDone) void again().catch((err: Error) => this.log(`re-sending ${key}: ${err.message}`));
      return;
    }
    const refuse = (code: string, message: string) =>
      this.reply(answer, 'ErrorReport', { code: 'ERROR_CODE_UNSUPPORTED', message: `[${code}] ${message}`, relatedMessageId: messageId, jobId: assignment.jobId, taskId: assignment.taskId, retryable: false });
    const dataset = assignment.dataset ? this.datasets.find((d) => d.config.name === assignment.dataset) : this.datasets[0];
    if (!dataset) return refuse('unsupported_task', `no dataset named ${assignment.dataset}`);
    let task: SiteTask;
    try {
      task = admitAssignment(this.options.config.policy, assignment, dataset);
    } catch (err) {
      if (err instanceof PolicyRefusal) {
        this.log(`refused task ${assignment.taskId}: [${err.code}] ${err.message}`);
        return refuse(err.code, err.message);
      }
      return refuse('unsupported_task', siteSafeText(err, this.log));
    }
    const unit: Unit = { key, assignment, task, dataset, started: false };
    this.units.set(key, unit);
    await this.reply(answer, 'Ack', { messageId });
    if (!assignment.model.modelId || this.models.has(assignment.model.modelId)) this.startUnit(unit);
  }

  /** Wants a manifest's chunks only when an admitted unit waits for exactly that model. */
  private onManifest(manifest: MessageTypes['ModelManifest'], payload: Uint8Array): MessageTypes['ChunkRequest'] {
    const digest = Buffer.from(signedManifestDigest(payload));
    const waiting = [...this.units.values()].some((u) => !u.started && u.assignment.model.modelId === manifest.modelId && digest.equals(Buffer.from(u.assignment.model.sha256)));
    if (!waiting || this.models.has(manifest.modelId)) return { transferId: manifest.transferId, indices: [] };
    let download = this.downloads.get(manifest.transferId);
    if (!download) {
      download = { reassembler: new ModelReassembler(manifest), hash: manifest.modelId, architecture: manifest.architecture.name };
      this.downloads.set(manifest.transferId, download);
    }
    return download.reassembler.chunkRequest();
  }

  private async onChunk(frame: unknown, answer: unknown): Promise<void> {
    try {
      if (!(frame instanceof Uint8Array)) throw new Error('a chunk must be binary');
      const download = [...this.downloads.values()].find((d) => {
        try {
          d.reassembler.accept(frame);
          return true;
        } catch (err) {
          if (isProtocolError(err, 'CHUNK_MISMATCH') && (err.details as { reason?: string }).reason === 'foreign') return false;
          throw err;
        }
      });
      if (!download) throw new Error('chunk of no transfer this site asked for');
      await this.reply(answer, 'Ack', { messageId: download.reassembler.manifest.transferId });
      if (download.reassembler.complete) this.finishDownload(download);
    } catch (err) {
      await this.rejectInbound(err, frame instanceof Uint8Array ? Buffer.from(frame).toString('base64') : null, answer);
    }
  }

  /** A complete model must re-encode to the very hash the coordinator named; then waiting units start. */
  private finishDownload(download: { reassembler: ModelReassembler; hash: string; architecture: string }): void {
    this.downloads.delete(download.reassembler.manifest.transferId);
    const tensors = download.reassembler.result();
    const actual = createHash('sha256').update(encodeTensors(download.architecture, tensors)).digest('hex');
    const waiting = [...this.units.values()].filter((u) => !u.started && u.assignment.model.modelId === download.hash);
    if (actual !== download.hash) {
      for (const u of waiting) void this.fail(u, new TaskFailure('ModelMismatch', `received weights hash to ${actual}, not ${download.hash}`, true));
      return;
    }
    this.models.set(download.hash, tensors);
    for (const u of waiting) this.startUnit(u);
  }

  // ---------------------------------------------------------------------------------------------
  // Running units

  private startUnit(unit: Unit): void {
    unit.started = true;
    const controller = new AbortController();
    this.running.set(unit.key, controller);
    const remaining = unit.assignment.deadlineUnixMs - Date.now();
    const timer = setTimeout(() => controller.abort('deadline passed'), Math.max(0, remaining));
    const work = this.run(unit, controller.signal);
    void work
      .then((deliver) => {
        this.outbox.set(unit.key, deliver);
        return this.helloDone ? deliver().then(() => this.outbox.delete(unit.key)) : undefined;
      })
      .catch((err: Error) => this.fail(unit, err))
      .finally(() => {
        clearTimeout(timer);
        this.running.delete(unit.key);
      });
  }

  private progress(unit: Unit, stage: string, fraction: number, epoch: number, loss: number): void {
    if (Date.now() - this.lastProgressAt < 500 && fraction < 1) return;
    this.lastProgressAt = Date.now();
    if (!this.helloDone) return;
    const { jobId, taskId } = unit.assignment;
    void this.request('Progress', { jobId, taskId, stage, fraction, epoch, loss, message: '' }).catch(() => undefined);
  }

  /**
   * Runs the unit's executor, then hands its outcome to the transport through the policy: weights
   * trained on fewer cases than the policy allows never start uploading, and every message passes
   * filterOutbound in `request`.
   */
  private async run(unit: Unit, signal: AbortSignal): Promise<Delivery> {
    const outcome = await execute(unit.task, {
      siteId: this.siteId,
      assignment: unit.assignment,
      dataset: unit.dataset,
      datasetInput: {
        datasetPath: unit.dataset.config.path,
        layout: unit.dataset.config.layout,
        ...(unit.dataset.config.maxDecodedBytes !== undefined ? { maxDecodedBytes: unit.dataset.config.maxDecodedBytes } : {}),
        ...(this.options.config.backend ? { backend: this.options.config.backend } : {}),
      },
      model: (id) => this.models.get(id),
      onProgress: (p) => this.progress(unit, p.stage, p.fraction, p.epoch, p.loss),
      log: (line) => this.log(`task ${unit.assignment.taskId}: ${line}`),
      signal,
      ledger: this.ledger,
      audit: this.audit,
    });
    if (outcome.weights) checkWeightsCases(this.options.config.policy, outcome.weights.casesUsed);
    const deliver = async () => {
      const uploadStarted = performance.now();
      if (outcome.weights) await this.upload(outcome.weights.package);
      const { type, message } = outcome.result(outcome.weights ? (performance.now() - uploadStarted) / 1000 : 0);
      await this.expectAck(await this.request(type, message as MessageTypes[typeof type]));
    };
    // Weights are not kept: a TrainResult is acknowledged only once the coordinator has stored it.
    if (!outcome.weights) {
      this.delivered.set(unit.key, deliver);
      if (this.delivered.size > KEPT_RESULTS) this.delivered.delete(this.delivered.keys().next().value!);
    }
    return deliver;
  }

  /** Sends the manifest; the coordinator answers with the chunks it still lacks (all, or the rest after a disconnect). */
  private async upload(weights: ModelPackage): Promise<void> {
    const wanted = await this.request('ModelManifest', weights.manifest);
    if (wanted.header.msg !== 'ChunkRequest') throw new TaskFailure('UploadRefused', `coordinator refused the weights manifest: ${JSON.stringify(wanted.message)}`, true);
    await sendInWindow((wanted.message as MessageTypes['ChunkRequest']).indices, CHUNK_WINDOW, async (index) => this.expectAck(await this.sendChunk(weights.chunk(index))));
  }

  private async expectAck(reply: OpenedAny): Promise<void> {
    if (reply.header.msg === 'ErrorReport') {
      const report = reply.message as MessageTypes['ErrorReport'];
      // task_closed / duplicate answers mean there is nothing left to deliver.
      if (/^\[(task_closed|task_not_assigned)\]/.test(report.message)) return this.log(`coordinator: ${report.message}`);
      throw new TaskFailure('Refused', `coordinator refused: ${report.message}`, true);
    }
  }

  private async fail(unit: Unit, err: Error): Promise<void> {
    const a = unit.assignment;
    const policy = err instanceof PolicyRefusal;
    const deadline = err instanceof TaskFailure && err.name === 'AbortError';
    this.log(`task ${a.taskId} ${policy ? 'refused' : 'failed'}: ${err.message}`);
    const report: MessageTypes['ErrorReport'] = {
      code: policy ? 'ERROR_CODE_UNSUPPORTED' : deadline ? 'ERROR_CODE_DEADLINE_EXCEEDED' : 'ERROR_CODE_TASK_FAILED',
      message: `[${policy ? (err as PolicyRefusal).code : deadline ? 'deadline_exceeded' : 'task_failed'}] ${siteSafeText(err, this.log)}`,
      relatedMessageId: '',
      jobId: a.jobId,
      taskId: a.taskId,
      retryable: !policy && (!(err instanceof TaskFailure) || err.retryable),
    };
    const deliver = async () => void (await this.request('ErrorReport', report));
    this.outbox.set(unit.key, deliver);
    if (this.helloDone) await deliver().then(() => this.outbox.delete(unit.key), () => undefined);
    // A retry (a later attempt of the same task) is a new unit.
    this.units.delete(unit.key);
  }
}
