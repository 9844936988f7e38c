/**
 * The schema as an ordered list of migrations. A database records the last one applied in
 * `PRAGMA user_version`; new versions are appended here, never edited once released.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'sites, enrolment tokens, jobs, rounds, tasks, results, model versions, audit log',
    sql: `
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

      CREATE TABLE sites (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('pending', 'enrolled', 'revoked')),
        public_jwk TEXT,
        created_at INTEGER NOT NULL,
        enrolled_at INTEGER,
        revoked_at INTEGER,
        revoked_reason TEXT
      );

      CREATE TABLE enrolment_tokens (
        token_hash TEXT PRIMARY KEY,
        site_id TEXT NOT NULL REFERENCES sites(id),
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      );

      CREATE TABLE model_versions (
        hash TEXT PRIMARY KEY,
        architecture TEXT NOT NULL,
        parameter_count INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        origin TEXT NOT NULL
      );

      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        spec TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
        summary TEXT,
        failure TEXT,
        submitted_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        finished_at INTEGER
      );

      CREATE TABLE rounds (
        job_id TEXT NOT NULL REFERENCES jobs(id),
        round_no INTEGER NOT NULL,
        name TEXT NOT NULL,
        min_sites INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
        outcome TEXT,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        PRIMARY KEY (job_id, round_no)
      );

      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL,
        round_no INTEGER NOT NULL,
        site_id TEXT NOT NULL REFERENCES sites(id),
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'dispatched', 'completed', 'excluded')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        deadline_ms INTEGER NOT NULL,
        deadline_at INTEGER,
        excluded_reason TEXT,
        FOREIGN KEY (job_id, round_no) REFERENCES rounds(job_id, round_no)
      );
      CREATE INDEX tasks_by_round ON tasks (job_id, round_no);
      CREATE INDEX tasks_open_by_site ON tasks (site_id, status);

      CREATE TABLE results (
        id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL UNIQUE REFERENCES tasks(id),
        site_id TEXT NOT NULL,
        metrics TEXT NOT NULL,
        model_hash TEXT REFERENCES model_versions(hash),
        num_examples INTEGER NOT NULL,
        received_at INTEGER NOT NULL
      );

      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        type TEXT NOT NULL,
        subject TEXT,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      -- Append-only: the database itself refuses edits and deletions of past events.
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    `,
  },
  {
    version: 2,
    description: 'at most one live enrolment token per site; keys retired by re-keying',
    sql: `
      ALTER TABLE enrolment_tokens ADD COLUMN revoked_at INTEGER;
      -- Tokens issued before this version: only a pending site's newest unused token stays live.
      UPDATE enrolment_tokens SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
        WHERE used_at IS NULL AND (
          site_id IN (SELECT id FROM sites WHERE status <> 'pending')
          OR rowid <> (SELECT MAX(t.rowid) FROM enrolment_tokens t WHERE t.site_id = enrolment_tokens.site_id AND t.used_at IS NULL));
      CREATE UNIQUE INDEX enrolment_tokens_one_live ON enrolment_tokens (site_id) WHERE used_at IS NULL AND revoked_at IS NULL;

      CREATE TABLE retired_site_keys (
        x TEXT PRIMARY KEY,
        site_id TEXT NOT NULL REFERENCES sites(id),
        retired_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    description: 'model versions may carry a name people can type (e.g. emidec-unet-lite)',
    sql: `
      ALTER TABLE model_versions ADD COLUMN name TEXT;
      CREATE UNIQUE INDEX model_versions_by_name ON model_versions (name) WHERE name IS NOT NULL;
    `,
  },
  {
    version: 4,
    description: "each site's last known state (agent, hardware, dataset counts, last heartbeat) survives a restart",
    sql: `
      CREATE TABLE site_last_state (
        site_id TEXT PRIMARY KEY REFERENCES sites(id),
        agent_version TEXT,
        capabilities TEXT,
        datasets TEXT NOT NULL DEFAULT '[]',
        last_seen_at INTEGER
      );
    `,
  },
  {
    version: 5,
    description: 'every job has a name people recognise (given at submission, or made from its kind and sites)',
    sql: `ALTER TABLE jobs ADD COLUMN name TEXT;`,
  },
  {
    version: 6,
    description: 'revoked admin tokens (by token id), refused until they expire',
    sql: `CREATE TABLE revoked_admin_tokens (token_id TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL);`,
  },
  {
    version: 7,
    description: "a multi-model evaluation's results per model, kept until the task's last model arrives (a restart loses none)",
    sql: `
      CREATE TABLE partial_results (
        task_id TEXT NOT NULL REFERENCES tasks(id),
        label TEXT NOT NULL,
        metrics TEXT NOT NULL,
        num_examples INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (task_id, label)
      );
    `,
  },
];
