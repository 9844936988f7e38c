import Database from 'better-sqlite3';
import { CoordinatorError } from '../errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the coordinator's SQLite database in WAL mode and brings its schema
 * up to date. WAL lets the CLI (`enroll`, `revoke`) write while a running coordinator reads.
 */
export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: every commit (a result, a round's end, an audit row) is on disk before it is acknowledged
  // to a site; in WAL mode NORMAL could lose the last commits on power loss. Writes are rare (per
  // result, not per chunk), so the fsync costs little.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  const current = schemaVersion(db);
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new CoordinatorError(
      'schema_too_new',
      `database schema version ${current} is newer than this coordinator understands (${latest}); upgrade lgefed`,
    );
  }
  const pending = migrations.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  for (const migration of pending) {
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}
