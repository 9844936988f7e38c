import type { Capabilities, DatasetSummary, PrivacyBalance, Progress } from '@lgefed/protocol';
import type { SiteLastStates } from '../store/site-last-state.js';

/** What the coordinator knows about a site's live connection, for `GET /api/sites`. */
export interface SitePresence {
  readonly connected: boolean;
  readonly connectedAt: number | null;
  readonly lastHeartbeatAt: number | null;
  /** Milliseconds since the last heartbeat (or hello); null before the first. */
  readonly heartbeatAgeMs: number | null;
  readonly agentVersion: string | null;
  readonly capabilities: Capabilities | null;
  /** Counts only, as the site reported them. */
  readonly datasets: readonly DatasetSummary[];
  readonly activeTaskIds: readonly string[];
  /** Latest progress per running task (for a task that scores several models: of the model now being scored). */
  readonly progress: Readonly<Record<string, Pick<Progress, 'stage' | 'fraction' | 'epoch' | 'loss'>>>;
  /** Per running evaluation task, how many of its models the site has scored so far. */
  readonly modelsScored: Readonly<Record<string, number>>;
  /** ε the site has spent on histograms and its total budget, from its own ledger (last heartbeat). */
  readonly privacy: PrivacyBalance | null;
}

interface MutablePresence {
  connected: boolean;
  connectedAt: number | null;
  lastSeenAt: number | null;
  agentVersion: string | null;
  capabilities: Capabilities | null;
  datasets: readonly DatasetSummary[];
  activeTaskIds: readonly string[];
  progress: Record<string, Pick<Progress, 'stage' | 'fraction' | 'epoch' | 'loss'>>;
  modelsScored: Record<string, number>;
  privacy: PrivacyBalance | null;
}

/**
 * Liveness per site. Connections, tasks and progress live in memory (they do not survive a restart
 * either); what a site last said about itself and when it was last heard from is also kept in
 * `lastStates`, so after a restart the console shows each site as it was last seen.
 */
export class PresenceBoard {
  private readonly sites = new Map<string, MutablePresence>();

  constructor(
    private readonly lastStates?: SiteLastStates,
    private readonly now: () => number = Date.now,
  ) {}

  private entry(siteId: string): MutablePresence {
    let p = this.sites.get(siteId);
    if (!p) {
      const last = this.lastStates?.get(siteId);
      p = {
        connected: false,
        connectedAt: null,
        lastSeenAt: last?.lastSeenAt ?? null,
        agentVersion: last?.agentVersion ?? null,
        capabilities: last?.capabilities ?? null,
        datasets: last?.datasets ?? [],
        activeTaskIds: [],
        progress: {},
        modelsScored: {},
        privacy: null,
      };
      this.sites.set(siteId, p);
    }
    return p;
  }

  connected(siteId: string, hello: { agentVersion: string; capabilities: Capabilities; datasets: readonly DatasetSummary[] }): void {
    const p = this.entry(siteId);
    Object.assign(p, { connected: true, connectedAt: this.now(), lastSeenAt: this.now(), ...hello });
    this.lastStates?.hello(siteId, hello, this.now());
  }

  heartbeat(siteId: string, activeTaskIds: readonly string[], privacy: PrivacyBalance): void {
    const p = this.entry(siteId);
    p.lastSeenAt = this.now();
    this.lastStates?.seen(siteId, p.lastSeenAt);
    p.privacy = privacy.budgetEpsilon > 0 ? { spentEpsilon: privacy.spentEpsilon, budgetEpsilon: privacy.budgetEpsilon } : null;
    p.activeTaskIds = [...activeTaskIds];
    for (const taskId of Object.keys(p.progress)) if (!activeTaskIds.includes(taskId)) delete p.progress[taskId];
    for (const taskId of Object.keys(p.modelsScored)) if (!activeTaskIds.includes(taskId)) delete p.modelsScored[taskId];
  }

  /** One more model of an evaluation task scored: the live progress was that model's and is over. */
  modelScored(siteId: string, taskId: string, scored: number): void {
    const p = this.entry(siteId);
    p.modelsScored[taskId] = scored;
    delete p.progress[taskId];
  }

  progress(siteId: string, report: Progress): void {
    const p = this.entry(siteId);
    p.progress[report.taskId] = { stage: report.stage, fraction: report.fraction, epoch: report.epoch, loss: report.loss };
  }

  disconnected(siteId: string): void {
    this.entry(siteId).connected = false;
  }

  get(siteId: string): SitePresence {
    const p = this.entry(siteId);
    return {
      connected: p.connected,
      connectedAt: p.connectedAt,
      lastHeartbeatAt: p.lastSeenAt,
      heartbeatAgeMs: p.lastSeenAt === null ? null : this.now() - p.lastSeenAt,
      agentVersion: p.agentVersion,
      capabilities: p.capabilities,
      datasets: p.datasets,
      activeTaskIds: p.activeTaskIds,
      progress: { ...p.progress },
      modelsScored: { ...p.modelsScored },
      privacy: p.privacy,
    };
  }
}
