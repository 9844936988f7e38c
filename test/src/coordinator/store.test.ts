import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDatabase, schemaVersion } from '@lgefed/coordinator/store/database';
import { MIGRATIONS } from '@lgefed/coordinator/store/migrations';
import { AuditLog } from '@lgefed/coordinator/store/audit-log';
import { useTempDir } from './temp-dir.js';

describe('coordinator: SQLite store and audit log', () => {
  const dir = useTempDir();

  it('creates the schema in WAL mode and reopens without re-migrating', () => {
    const file = join(dir(), 'state.db');
    const db = openDatabase(file);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(schemaVersion(db), MIGRATIONS.at(-1)!.version);
    db.prepare("INSERT INTO settings VALUES ('k', 'v')").run();
    db.close();
    const again = openDatabase(file);
    assert.equal((again.prepare("SELECT value FROM settings WHERE key = 'k'").get() as { value: string }).value, 'v');
    again.close();
  });

  it('refuses a database written by a newer schema', () => {
    const file = join(dir(), 'state.db');
    const raw = openDatabase(file);
    raw.pragma('user_version = 999');
    raw.close();
    assert.throws(() => openDatabase(file), { code: 'schema_too_new' });
  });

  it('keeps an append-only, hash-chained audit log', () => {
    const db = openDatabase(join(dir(), 'state.db'));
    let t = 1000;
    const log = new AuditLog(db, () => t++);
    const first = log.append({ actor: 'admin', type: 'site.enrolled', subject: 'site-1', details: { name: 'dijon' } });
    const second = log.append({ actor: 'coordinator', type: 'task.dispatched', subject: 'site-1', eventId: 'fixed-id' });
    assert.equal(second.prevHash, first.hash);
    assert.equal(second.eventId, 'fixed-id');
    assert.deepEqual(log.list({ subject: 'site-1' }).map((e) => e.type), ['site.enrolled', 'task.dispatched']);
    assert.equal(log.verify(), null);
    assert.throws(() => db.prepare('UPDATE audit_log SET actor = ?').run('mallory'), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM audit_log').run(), /append-only/);
    // Tamper past the triggers: the chain no longer verifies from that event on.
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare('UPDATE audit_log SET details = ? WHERE seq = ?').run('{"name":"elsewhere"}', first.seq);
    assert.equal(log.verify(), first.seq);
    db.close();
  });
});
