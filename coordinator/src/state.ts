import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AdminTokens } from './auth/admin-tokens.js';
import { ADMIN_TOKEN_KEY_FILE, IDENTITY_KEY_FILE, loadOrCreateCoordinatorKey, type CoordinatorKey } from './auth/coordinator-key.js';
import { ModelStore } from './model-store.js';
import { AuditLog } from './store/audit-log.js';
import { openDatabase, type Db } from './store/database.js';
import { JobStore } from './store/jobs.js';
import { SiteRegistry } from './store/sites.js';

/** Everything a coordinator keeps in its state directory, opened together. */
export interface CoordinatorState {
  readonly dir: string;
  readonly db: Db;
  /** The federation identity every site pins. */
  readonly key: CoordinatorKey;
  readonly adminTokens: AdminTokens;
  readonly audit: AuditLog;
  readonly sites: SiteRegistry;
  readonly jobs: JobStore;
  readonly models: ModelStore;
  setting(key: string): string | undefined;
  setSetting(key: string, value: string): void;
  close(): void;
}

export async function openCoordinatorState(dir: string, now: () => number = Date.now): Promise<CoordinatorState> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const db = openDatabase(join(dir, 'coordinator.db'));
  const key = await loadOrCreateCoordinatorKey(dir, IDENTITY_KEY_FILE);
  const models = new ModelStore(join(dir, 'models'));
  await models.init();
  const audit = new AuditLog(db, now);
  return {
    dir,
    db,
    key,
    audit,
    adminTokens: new AdminTokens(await loadOrCreateCoordinatorKey(dir, ADMIN_TOKEN_KEY_FILE), db, audit),
    sites: new SiteRegistry(db, audit, now),
    jobs: new JobStore(db, now),
    models,
    setting: (k) => (db.prepare('SELECT value FROM settings WHERE key = ?').get(k) as { value: string } | undefined)?.value,
    setSetting: (k, v) => void db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(k, v),
    close: () => db.close(),
  };
}
