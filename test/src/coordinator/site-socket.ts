import { generateKeyPair, importPrivateJwk, importPublicJwk, PROTOCOL_VERSION, ReplayCache, Signer, Verifier, type Envelope, type KeyPairJwk, type MessageTypeName, type MessageTypes, type OpenedAny } from '@lgefed/protocol';
import { io, type Socket } from 'socket.io-client';

/** A site driven by hand over a real socket.io connection: the attacker's (or an honest site's) view. */
export class SiteSocket {
  private constructor(
    readonly socket: Socket,
    private readonly verifier: Verifier,
  ) {}

  static async connect(url: string, coordinatorPublicKey: unknown): Promise<SiteSocket> {
    const socket = io(url, { transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
    return new SiteSocket(socket, new Verifier({ senders: [{ id: 'coordinator', key: await importPublicJwk(coordinatorPublicKey) }], replayCache: new ReplayCache() }));
  }

  /** Sends an envelope and opens the coordinator's signed reply. */
  async send(envelope: Envelope): Promise<OpenedAny> {
    return this.verifier.openAny(await this.socket.timeout(10_000).emitWithAck('envelope', envelope));
  }

  /** Sends a chunk frame and opens the coordinator's signed reply. */
  async sendChunk(frame: Uint8Array): Promise<OpenedAny> {
    return this.verifier.openAny(await this.socket.timeout(10_000).emitWithAck('chunk', frame));
  }

  /** Verifies a message the coordinator sent unasked (a task assignment). */
  open(envelope: unknown): Promise<OpenedAny> {
    return this.verifier.openAny(envelope);
  }

  /** Resolves once the coordinator has closed the connection (at once if it already has). */
  disconnected(): Promise<void> {
    return new Promise((resolve) => (this.socket.connected ? this.socket.once('disconnect', () => resolve()) : resolve()));
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** A site's key pair and a signer for it. */
export async function siteKey(): Promise<{ pair: KeyPairJwk; signer: Signer; seal<K extends MessageTypeName>(type: K, message: MessageTypes[K]): Promise<Envelope> }> {
  const pair = await generateKeyPair();
  const signer = new Signer(await importPrivateJwk(pair.privateJwk));
  return { pair, signer, seal: (type, message) => signer.seal(type, message) };
}

/** Presents an enrolment token with a public key, as an agent does. */
export async function redeem(url: string, token: string, publicJwk: unknown): Promise<{ status: number; body: { siteId?: string; error?: { code: string } } }> {
  const res = await fetch(`${url}/api/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, publicKey: publicJwk }) });
  return { status: res.status, body: (await res.json()) as { siteId?: string; error?: { code: string } } };
}

export const hello = (siteId: string): MessageTypes['SiteHello'] => ({
  siteId,
  agentVersion: 'test',
  protocolVersion: PROTOCOL_VERSION,
  capabilities: { mlBackend: 'ML_BACKEND_TFJS_CPU', gpus: [], memoryMib: 1, cpuCores: 1 },
  datasets: [],
});
