import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultMessage } from '@lgefed/protocol';
import { startCoordinator } from '@lgefed/coordinator/server';
import { openCoordinatorState } from '@lgefed/coordinator/state';
import { openDatabase } from '@lgefed/coordinator/store/database';
import { MIGRATIONS } from '@lgefed/coordinator/store/migrations';
import { hello, redeem, siteKey, SiteSocket } from './site-socket.js';
import { useTempDir } from './temp-dir.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../cli/bin/lgefed.js', import.meta.url));

describe('coordinator: enrolment tokens cannot take over an enrolled site (issue 13, critical 1)', function () {
  this.timeout(60_000);
  const dir = useTempDir();

  it('a new kit revokes the earlier token; a stale token never replaces a pinned key', async () => {
    const state = await openCoordinatorState(dir());
    const astray = state.sites.createEnrolment('dijon', 60_000, 'admin');
    const handed = state.sites.createEnrolment('dijon', 60_000, 'admin');
    const honest = await siteKey();
    const attacker = await siteKey();
    assert.throws(() => state.sites.redeem(astray.token, attacker.pair.publicJwk), { code: 'token_revoked' });
    const site = state.sites.redeem(handed.token, honest.pair.publicJwk);
    assert.throws(() => state.sites.createEnrolment('dijon', 60_000, 'admin'), { code: 'site_already_enrolled' });
    // A live token for an enrolled site (e.g. restored from a backup) is still refused.
    const restored = createHash('sha256').update('restored').digest('hex');
    state.db.prepare('INSERT INTO enrolment_tokens (token_hash, site_id, expires_at) VALUES (?, ?, ?)').run(restored, site.id, Date.now() + 60_000);
    assert.throws(() => state.sites.redeem('restored', attacker.pair.publicJwk), { code: 'site_already_enrolled' });
    assert.equal(state.sites.trustedKey(site.id).x, honest.pair.publicJwk.x);
    assert.deepEqual(state.audit.list({ type: 'site.enrolment_issued' }).map((e) => (e.details as { revokedTokens: number }).revokedTokens), [0, 1]);
    // The database itself holds at most one live token per site.
    state.sites.createEnrolment('leeds', 60_000, 'admin');
    const leeds = state.sites.byName('leeds')!;
    assert.throws(() => state.db.prepare('INSERT INTO enrolment_tokens (token_hash, site_id, expires_at) VALUES (?, ?, ?)').run('x'.repeat(64), leeds.id, Date.now() + 60_000), /UNIQUE/);
    assert.throws(() => state.sites.createEnrolment('york', 1e306 * 3600_000, 'admin'), { code: 'invalid_argument' });
    assert.equal(state.sites.byName('york'), undefined, 'a refused enrolment leaves no half-written site');
    state.close();
  });

  it('upgrading a database revokes every token but a pending site’s newest', async () => {
    const file = join(dir(), 'coordinator.db');
    const v1 = openDatabase(file, MIGRATIONS.slice(0, 1));
    v1.exec(`INSERT INTO sites (id, name, status, public_jwk, created_at) VALUES ('p', 'pending-site', 'pending', NULL, 0), ('e', 'enrolled-site', 'enrolled', '{"x":"k"}', 0);
             INSERT INTO enrolment_tokens (token_hash, site_id, expires_at) VALUES ('p-old', 'p', 9e12), ('p-new', 'p', 9e12), ('e-stale', 'e', 9e12);`);
    v1.close();
    const state = await openCoordinatorState(dir());
    const live = state.db.prepare('SELECT token_hash FROM enrolment_tokens WHERE revoked_at IS NULL').all() as { token_hash: string }[];
    assert.deepEqual(live.map((t) => t.token_hash), ['p-new']);
    state.close();
  });

  it('re-keying is an audited admin action: the old key is refused on the wire at once and can never be pinned again', async () => {
    const coordinator = await startCoordinator({ stateDir: dir(), port: 0 });
    const sockets: SiteSocket[] = [];
    try {
      const admin = await coordinator.state.adminTokens.issue({ subject: 'alice', role: 'admin' }, 600);
      const kit = coordinator.state.sites.createEnrolment('dijon', 60_000, 'admin');
      const coordinatorKey = coordinator.state.key.publicJwk;
      const old = await siteKey();
      assert.equal((await redeem(coordinator.url, kit.token, old.pair.publicJwk)).status, 200);
      const siteId = kit.site.id;
      const connect = async () => {
        const s = await SiteSocket.connect(coordinator.url, coordinatorKey);
        sockets.push(s);
        return s;
      };
      const live = await connect();
      assert.equal((await live.send(await old.seal('SiteHello', hello(siteId)))).header.msg, 'Enrolment');

      const cli = (...args: string[]) => run(process.execPath, [bin, 'admin', 'sites', 'rekey', '--url', coordinator.url, '--token', admin, ...args]);
      const kitFile = join(dir(), 'rekey-kit.json');
      await cli('--site', 'dijon', '--out', kitFile);
      const newKit = JSON.parse(await readFile(kitFile, 'utf8')) as { siteId: string; enrolmentToken: string };
      assert.equal(newKit.siteId, siteId);

      // The connection the old key opened is refused at its next message and dropped.
      const heartbeat = await live.send(await old.seal('Heartbeat', { ...defaultMessage('Heartbeat'), siteId }));
      assert.equal((heartbeat.message as { code: string }).code, 'ERROR_CODE_UNKNOWN_SENDER');
      await live.disconnected();
      // The old key cannot be enrolled again with the new token; a new key can.
      assert.equal((await redeem(coordinator.url, newKit.enrolmentToken, old.pair.publicJwk)).body.error?.code, 'key_reused');
      const fresh = await siteKey();
      assert.equal((await redeem(coordinator.url, newKit.enrolmentToken, fresh.pair.publicJwk)).status, 200);
      const again = await connect();
      await assert.rejects(again.send(await old.seal('SiteHello', hello(siteId))), 'the retired key no longer verifies once the site has a new one: dropped unanswered');
      await again.disconnected();
      assert.equal((coordinator.state.audit.list({ type: 'transport.rejected' }).at(-1)!.details as { code: string }).code, 'UNKNOWN_SENDER');
      const good = await connect();
      assert.equal((await good.send(await fresh.seal('SiteHello', hello(siteId)))).header.msg, 'Enrolment');

      const rekeyed = coordinator.state.audit.list({ type: 'site.rekeyed' });
      assert.equal(rekeyed.length, 1);
      assert.equal(rekeyed[0]!.actor, 'admin:alice');
      assert.equal((rekeyed[0]!.details as { retiredKey: string }).retiredKey, old.pair.publicJwk.x);
      // Only an enrolled site can be re-keyed; a viewer cannot.
      await assert.rejects(cli('--site', 'nowhere'), (e: { code: number; stderr: string }) => e.code === 1 && /\[not_found\]/.test(e.stderr));
      const viewer = await coordinator.state.adminTokens.issue({ subject: 'bob', role: 'viewer' }, 600);
      const res = await fetch(`${coordinator.url}/api/sites/dijon/rekey`, { method: 'POST', headers: { authorization: `Bearer ${viewer}` } });
      assert.equal(res.status, 403);
    } finally {
      for (const s of sockets) s.close();
      await coordinator.close();
    }
  });
});
