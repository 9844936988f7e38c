/**
 * A site's network link to the coordinator, as a loopback TCP relay the demo controls: the agent's
 * startup kit points at the relay, the relay forwards to the coordinator. Cutting it drops every
 * open connection at once, exactly like a network outage; new connections go through again, so the
 * agent's own reconnect logic is what is exercised.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class SiteLink {
  private readonly sockets = new Set<Socket>();
  /** Bytes relayed from the coordinator to the site since the link was opened. */
  bytesToSite = 0;
  cuts = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: () => number,
  ) {}

  /** Opens a relay on 127.0.0.1 (a free port) to the coordinator port `target()` gives at each connection. */
  static async open(target: () => number): Promise<SiteLink> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const link = new SiteLink(server, (server.address() as AddressInfo).port, target);
    server.on('connection', (client) => link.relay(client));
    return link;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private relay(client: Socket): void {
    const upstream = connect(this.target(), '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined); // a cut or a dead coordinator: the other side is closed below
    }
    upstream.on('data', (chunk: Buffer) => (this.bytesToSite += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Drops every connection through this link now. */
  cut(): void {
    this.cuts++;
    for (const s of this.sockets) s.destroy();
  }

  /** Resolves once `bytes` more have flowed to the site (e.g. part of a model transfer). */
  async waitForTraffic(bytes: number, timeoutMs: number): Promise<boolean> {
    const target = this.bytesToSite + bytes;
    const started = Date.now();
    while (this.bytesToSite < target) {
      if (Date.now() - started > timeoutMs) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
