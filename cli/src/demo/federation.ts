/**
 * A federation on loopback made of real processes: one `lgefed coordinator start` and one
 * `lgefed site start` per site, each site reaching the coordinator through its own {@link SiteLink}.
 * The coordinator's state is seeded in-process before it starts (the pretrained model, every site's
 * enrolment, an admin token), exactly as an operator would with `lgefed coordinator enroll|token`.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { buildStartupKit } from '@lgefed/coordinator/startup-kit';
import { openCoordinatorState } from '@lgefed/coordinator/state';
import { encodeTensors } from '@lgefed/protocol/weights-file';
import type { NamedTensor } from '@lgefed/shared/model/weights';
import { AdminClient } from '../commands/admin.js';
import { SiteLink } from './link.js';
import { ProcessGroup, type ManagedProcess } from './processes.js';
import type { PreparedSite } from './sites.js';

export interface FederationOptions {
  readonly stateDir: string;
  readonly sites: readonly PreparedSite[];
  /** The model the coordinator holds from the start, served under `architecture`. */
  readonly pretrained: { readonly model: { readonly id: string; readonly weights: readonly NamedTensor[] }; readonly architecture: string };
  /** Coordinator port; 0 picks a free one (kept across restarts). */
  readonly port?: number;
  readonly heartbeatSeconds?: number;
  /** Extra environment for agents (e.g. LGEFED_BACKEND). */
  readonly agentEnv?: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
}

export interface DemoSite extends PreparedSite {
  readonly link: SiteLink;
  agent: ManagedProcess;
}

/** A free loopback port, so a restarted coordinator comes back where the sites expect it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class DemoFederation {
  readonly processes = new ProcessGroup();
  readonly sites: DemoSite[] = [];
  coordinator!: ManagedProcess;
  url = '';
  token = '';
  pretrainedHash = '';
  port = 0;
  private closed = false;
  private readonly links: SiteLink[] = [];

  private constructor(private readonly options: FederationOptions) {}

  static async start(options: FederationOptions, log: (line: string) => void): Promise<DemoFederation> {
    const federation = new DemoFederation(options);
    try {
      await federation.launch(log);
    } catch (err) {
      await federation.close();
      throw err;
    }
    return federation;
  }

  get stateDir(): string {
    return this.options.stateDir;
  }

  get client(): AdminClient {
    return new AdminClient(this.url, this.token);
  }

  site(name: string): DemoSite {
    const site = this.sites.find((s) => s.name === name);
    if (!site) throw new Error(`no demo site ${name}`);
    return site;
  }

  private async launch(log: (line: string) => void): Promise<void> {
    const { stateDir, pretrained } = this.options;
    this.port = this.options.port || (await freePort());
    const links = await Promise.all(this.options.sites.map(() => SiteLink.open(() => this.port)));
    this.links.push(...links);
    const state = await openCoordinatorState(stateDir);
    try {
      const tensors = pretrained.model.weights.map((t) => ({ name: t.name, shape: [...t.shape], data: t.data }));
      this.pretrainedHash = await state.models.put(encodeTensors(pretrained.architecture, tensors));
      state.jobs.registerModel(this.pretrainedHash, pretrained.architecture, tensors.reduce((n, t) => n + t.data.length, 0), `pretrained:${pretrained.model.id}`);
      this.token = await state.adminTokens.issue({ subject: 'demo', role: 'admin' }, 24 * 3600, 'demo');
      for (const [i, site] of this.options.sites.entries()) {
        const enrolment = state.sites.createEnrolment(site.name, 24 * 3600_000, 'demo');
        await writeFile(site.kitFile, `${JSON.stringify(buildStartupKit(links[i]!.url, state.key.publicJwk, enrolment), null, 2)}\n`, { mode: 0o600 });
      }
    } finally {
      state.close();
    }
    await this.startCoordinator();
    log(`coordinator listening on ${this.url}`);
    for (const [i, prepared] of this.options.sites.entries()) {
      this.sites.push({ ...prepared, link: links[i]!, agent: this.spawnAgent(prepared) });
    }
    await Promise.all(this.sites.map((s) => this.waitConnected(s)));
    log(`${this.sites.length} site agents connected: ${this.sites.map((s) => s.name).join(', ')}`);
  }

  private spawnAgent(site: PreparedSite): ManagedProcess {
    return this.processes.spawnLgefed(`agent ${site.name}`, ['site', 'start', '--kit', site.kitFile, '--config', site.configFile], this.options.agentEnv);
  }

  private async startCoordinator(): Promise<void> {
    this.coordinator = this.processes.spawnLgefed('coordinator', [
      'coordinator',
      'start',
      '--state',
      this.options.stateDir,
      '--port',
      String(this.port),
      '--heartbeat-seconds',
      String(this.options.heartbeatSeconds ?? 1),
    ]);
    this.url = (await this.coordinator.waitFor(/listening on (\S+)/, this.options.startTimeoutMs ?? 60_000))[1]!;
  }

  /** Waits for the agent's next "connected" line after `afterConnections` earlier ones. */
  async waitConnected(site: DemoSite, afterConnections = 0, timeoutMs = this.options.startTimeoutMs ?? 60_000): Promise<void> {
    const started = Date.now();
    while (connections(site.agent) <= afterConnections) {
      if (!site.agent.running) throw new Error(`agent ${site.name} exited; last output:\n${site.agent.output.slice(-2000)}`);
      if (Date.now() - started > timeoutMs) throw new Error(`agent ${site.name} did not connect within ${timeoutMs / 1000} s; last output:\n${site.agent.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Crashes the coordinator (SIGKILL) and starts it again on the same port and state. */
  async crashAndRestartCoordinator(): Promise<void> {
    await this.coordinator.kill();
    await this.startCoordinator();
  }

  /** Crashes a site's agent (SIGKILL). */
  async crashAgent(name: string): Promise<void> {
    await this.site(name).agent.kill();
  }

  /** Starts a crashed or stopped agent again with its kept key and split; resolves once it is connected. */
  async restartAgent(name: string): Promise<void> {
    const site = this.site(name);
    if (site.agent.running) return;
    site.agent = this.spawnAgent(site);
    await this.waitConnected(site);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.processes.stopAll();
    await Promise.all(this.links.map((l) => l.close()));
  }
}

/** How many times an agent has printed that it connected. */
export function connections(agent: ManagedProcess): number {
  return (agent.output.match(/connected to /g) ?? []).length;
}
