import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { startCoordinator } from '@lgefed/coordinator/server';
import { openCoordinatorState } from '@lgefed/coordinator/state';
import { ManualClock } from './federation-harness.js';
import { useTempDir } from './temp-dir.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../cli/bin/lgefed.js', import.meta.url));
const agentKey = async () => exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519' })).publicKey);

describe('coordinator: enrolment, revocation and admin auth', () => {
  const dir = useTempDir();

  it('pins the key for a good token; refuses reused, expired and revoked-site tokens', async () => {
    const clock = new ManualClock();
    const state = await openCoordinatorState(dir(), clock.now);
    const good = state.sites.createEnrolment('dijon', 60_000, 'admin');
    const key = await agentKey();
    const site = state.sites.redeem(good.token, key);
    assert.equal(site.status, 'enrolled');
    assert.equal(state.sites.trustedKey(site.id).x, key.x);
    assert.throws(() => state.sites.redeem(good.token, key), { code: 'token_used' });
    assert.throws(() => state.sites.redeem('not-a-token', key), { code: 'token_invalid' });

    const late = state.sites.createEnrolment('leeds', 60_000, 'admin');
    clock.advance(60_001);
    assert.throws(() => state.sites.redeem(late.token, key), { code: 'token_expired' });

    const revokedBeforeUse = state.sites.createEnrolment('toronto', 60_000, 'admin');
    state.sites.revoke('toronto', 'left the study', 'admin');
    assert.throws(() => state.sites.redeem(revokedBeforeUse.token, key), { code: 'site_revoked' });
    state.sites.revoke('dijon', 'key compromised', 'admin');
    assert.throws(() => state.sites.trustedKey(site.id), { code: 'site_revoked' });
    assert.throws(() => state.sites.createEnrolment('dijon', 1000, 'admin'), { code: 'site_revoked' });
    assert.throws(() => state.sites.redeem(state.sites.createEnrolment('york', 1000, 'admin').token, { ...key, d: 'secret' }), { code: 'invalid_argument' });
    assert.deepEqual(state.audit.list({ type: 'site.revoked' }).length, 2);
    state.close();
  });

  it('writes a startup kit with the CLI, and revokes from it', async () => {
    const kitFile = join(dir(), 'kit.json');
    await run(process.execPath, [bin, 'coordinator', 'enroll', '--state', dir(), '--site', 'dijon', '--url', 'https://coord.example:8443', '--out', kitFile]);
    const kit = JSON.parse(await readFile(kitFile, 'utf8')) as Record<string, unknown>;
    assert.equal(kit['coordinatorUrl'], 'https://coord.example:8443');
    assert.equal(kit['siteName'], 'dijon');
    assert.equal((kit['coordinatorPublicKey'] as { kty: string; d?: string }).kty, 'OKP');
    assert.equal((kit['coordinatorPublicKey'] as { d?: string }).d, undefined, 'no private key in the kit');
    await run(process.execPath, [bin, 'coordinator', 'revoke', '--state', dir(), '--site', 'dijon']);
    await assert.rejects(run(process.execPath, [bin, 'coordinator', 'enroll', '--state', dir(), '--site', 'dijon', '--url', 'http://x']), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /\[site_revoked\]/);
      return true;
    });
  });

  it('serves the admin API over loopback: JWT roles, enrolment over HTTP, typed errors', async () => {
    const coordinator = await startCoordinator({ stateDir: dir(), port: 0, transport: { send: () => false } });
    try {
      const admin = await coordinator.state.adminTokens.issue({ subject: 'alice', role: 'admin' }, 60);
      const viewer = await coordinator.state.adminTokens.issue({ subject: 'bob', role: 'viewer' }, 60);
      const call = (path: string, token: string | null, body?: unknown) =>
        fetch(coordinator.url + path, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      assert.equal((await call('/api/sites', null)).status, 401);
      assert.equal((await call('/api/sites', admin.slice(0, -2) + 'xx')).status, 401);
      assert.equal((await call('/api/sites/dijon/enrolment', viewer, {})).status, 403);
      const kitRes = await call('/api/sites/dijon/enrolment', admin, { ttlHours: 1 });
      assert.equal(kitRes.status, 200);
      const kit = (await kitRes.json()) as { enrolmentToken: string; coordinatorUrl: string };
      assert.equal(kit.coordinatorUrl, coordinator.url);
      const enrol = await call('/api/enrol', null, { token: kit.enrolmentToken, publicKey: await agentKey() });
      assert.equal(enrol.status, 200);
      const again = await call('/api/enrol', null, { token: kit.enrolmentToken, publicKey: await agentKey() });
      assert.equal(again.status, 409);
      assert.equal(((await again.json()) as { error: { code: string } }).error.code, 'token_used');
      const sites = (await (await call('/api/sites', viewer)).json()) as { name: string; status: string; keyPinned: boolean }[];
      assert.deepEqual(sites.map((s) => [s.name, s.status, s.keyPinned]), [['dijon', 'enrolled', true]]);
      const badJob = await call('/api/jobs', admin, { kind: 'fedavg', spec: { sites: ['nowhere'] } });
      assert.equal(badJob.status, 400);
      const noRoute = await call('/api/no-such-route', viewer);
      assert.equal(noRoute.status, 404);
      assert.deepEqual(await noRoute.json(), { error: { code: 'not_found', message: 'no route GET /api/no-such-route' } }, 'JSON like every API error, not the HTML page');
    } finally {
      await coordinator.close();
    }
  });
});
