import type { Capabilities, DatasetSummary } from '@lgefed/protocol';
import type { Db } from './database.js';

/** What a site last told the coordinator about itself: kept so a restarted console still shows it. */
export interface SiteLastState {
  readonly agentVersion: string | null;
  readonly capabilities: Capabilities | null;
  readonly datasets: readonly DatasetSummary[];
  readonly lastSeenAt: number | null;
}

interface Row {
  agent_version: string | null;
  capabilities: string | null;
  datasets: string;
  last_seen_at: number | null;
}

/** Each site's last hello (agent, hardware, dataset counts) and last heartbeat time, in SQLite. */
export class SiteLastStates {
  constructor(private readonly db: Db) {}

  get(siteId: string): SiteLastState | undefined {
    const row = this.db.prepare('SELECT * FROM site_last_state WHERE site_id = ?').get(siteId) as Row | undefined;
    if (!row) return undefined;
    return {
      agentVersion: row.agent_version,
      capabilities: row.capabilities === null ? null : (JSON.parse(row.capabilities) as Capabilities),
      datasets: JSON.parse(row.datasets) as DatasetSummary[],
      lastSeenAt: row.last_seen_at,
    };
  }

  hello(siteId: string, hello: { agentVersion: string; capabilities: Capabilities; datasets: readonly DatasetSummary[] }, at: number): void {
    this.db
      .prepare(
        `INSERT INTO site_last_state (site_id, agent_version, capabilities, datasets, last_seen_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (site_id) DO UPDATE SET agent_version = excluded.agent_version, capabilities = excluded.capabilities, datasets = excluded.datasets, last_seen_at = excluded.last_seen_at`,
      )
      .run(siteId, hello.agentVersion, JSON.stringify(hello.capabilities), JSON.stringify(hello.datasets), at);
  }

  seen(siteId: string, at: number): void {
    this.db.prepare('UPDATE site_last_state SET last_seen_at = ? WHERE site_id = ?').run(at, siteId);
  }
}
