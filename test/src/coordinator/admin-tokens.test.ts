import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { MAX_ADMIN_TOKEN_TTL_S } from '@lgefed/coordinator/auth/admin-tokens';
import { startCoordinator } from '@lgefed/coordinator/server';
import { loadStartupKit } from '@lgefed/site-agent/kit';
import { useTempDir } from './temp-dir.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../cli/bin/lgefed.js', import.meta.url));

const get = (url: string, token: string) => fetch(`${url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });

describe('coordinator: admin tokens have their own key, a maximum lifetime and a revocation list (issue 13, medium 14)', function () {
  this.timeout(60_000);
  const dir = useTempDir();

  it('refuses a token signed with the federation identity key, and lifetimes over the maximum', async () => {
    const coordinator = await startCoordinator({ stateDir: dir(), port: 0, transport: { send: () => false } });
    try {
      const key = coordinator.state.key; // what every site pins the public half of
      const forged = await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
        .setJti('00000000-0000-4000-8000-000000000000')
        .setSubject('mallory')
        .setIssuer('lgefed-coordinator')
        .setAudience('lgefed-admin')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(key.privateKey);
      const refused = await get(coordinator.url, forged);
      assert.equal(refused.status, 401);
      assert.deepEqual(await refused.json(), { error: { code: 'unauthenticated', message: 'admin token invalid' } });
      assert.equal((await get(coordinator.url, await coordinator.state.adminTokens.issue({ subject: 'alice', role: 'admin' }, 60))).status, 200);

      await assert.rejects(coordinator.state.adminTokens.issue({ subject: 'alice', role: 'admin' }, MAX_ADMIN_TOKEN_TTL_S + 1), { code: 'invalid_argument' });
      await assert.rejects(coordinator.state.adminTokens.issue({ subject: 'alice', role: 'admin' }, 1e306 * 3600), { code: 'invalid_argument' });
    } finally {
      await coordinator.close();
    }
    await assert.rejects(run(process.execPath, [bin, 'coordinator', 'token', '--state', dir(), '--subject', 'alice', '--ttl-hours', '8760']), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /\[invalid_argument\] token lifetime must be positive and at most 168 hours/);
      return true;
    });
  });

  it('lgefed admin token revoke: a revoked token is refused at once and after a restart; only admins revoke', async () => {
    let coordinator = await startCoordinator({ stateDir: dir(), port: 0, transport: { send: () => false } });
    const tokens = coordinator.state.adminTokens;
    const leaked = await tokens.issue({ subject: 'alice', role: 'admin' }, 3600);
    const byId = await tokens.issue({ subject: 'carol', role: 'viewer' }, 3600);
    const bob = await tokens.issue({ subject: 'bob', role: 'admin' }, 3600);
    const viewer = await tokens.issue({ subject: 'dave', role: 'viewer' }, 3600);
    const cli = (token: string, ...args: string[]) => run(process.execPath, [bin, 'admin', 'token', 'revoke', '--url', coordinator.url, '--token', token, ...args]);
    try {
      assert.equal((await get(coordinator.url, leaked)).status, 200);
      await assert.rejects(cli(viewer, leaked), (e: { code: number; stderr: string }) => {
        assert.match(e.stderr, /\[forbidden\]/);
        return true;
      });
      assert.equal((await get(coordinator.url, leaked)).status, 200, "a viewer's attempt changes nothing");

      const { stdout } = await cli(bob, leaked, '--reason', 'laptop stolen');
      assert.match(stdout, /^admin token [0-9a-f-]{36} revoked$/m);
      const refused = await get(coordinator.url, leaked);
      assert.equal(refused.status, 401);
      assert.equal(((await refused.json()) as { error: { message: string } }).error.message, 'admin token revoked');
      // The id the audit log recorded at issue is enough to revoke.
      const issued = coordinator.state.audit.list({ type: 'admin.token_issued' }).find((e) => (e.details as { subject: string }).subject === 'carol')!;
      await cli(bob, issued.subject!);
      assert.equal((await get(coordinator.url, byId)).status, 401);
      assert.match((await cli(bob, leaked)).stdout, /was already revoked/);
      assert.deepEqual(
        coordinator.state.audit.list({ type: 'admin.token_revoked' }).map((e) => [e.actor, (e.details as { reason: string }).reason]),
        [['admin:bob', 'laptop stolen'], ['admin:bob', 'revoked by admin']],
      );
    } finally {
      await coordinator.close();
    }
    coordinator = await startCoordinator({ stateDir: dir(), port: 0, transport: { send: () => false } });
    try {
      assert.equal((await get(coordinator.url, leaked)).status, 401, 'the revocation list is kept in the store');
      assert.equal((await get(coordinator.url, byId)).status, 401);
      assert.equal((await get(coordinator.url, bob)).status, 200, 'the signing key survives a restart');
    } finally {
      await coordinator.close();
    }
  });
});

describe('coordinator and kits: no plain HTTP beyond loopback (issue 13, medium 14)', function () {
  this.timeout(60_000);
  const dir = useTempDir();

  it('the coordinator refuses plain HTTP on a non-loopback address unless --insecure-http is given', async () => {
    await assert.rejects(startCoordinator({ stateDir: dir(), port: 0, host: '0.0.0.0', transport: { send: () => false } }), {
      code: 'invalid_argument',
      message: /refusing plain HTTP on 0\.0\.0\.0/,
    });
    await assert.rejects(run(process.execPath, [bin, 'coordinator', 'start', '--state', dir(), '--host', '0.0.0.0', '--port', '0']), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /\[invalid_argument\] refusing plain HTTP on 0\.0\.0\.0/);
      return true;
    });
    const insecure = await startCoordinator({ stateDir: dir(), port: 0, host: '0.0.0.0', insecureHttp: true, transport: { send: () => false } });
    await insecure.close();
    const loopback = await startCoordinator({ stateDir: dir(), port: 0, host: '127.0.0.1', transport: { send: () => false } });
    await loopback.close();
  });

  it('a kit naming an http:// coordinator off this machine is refused', async () => {
    const kitAt = async (coordinatorUrl: string) => {
      const file = join(dir(), 'kit.json');
      await writeFile(file, JSON.stringify({ format: 'lgefed-startup-kit/1', coordinatorUrl, coordinatorPublicKey: {}, siteId: 's', siteName: 'x', enrolmentToken: 't', tokenExpiresAt: new Date().toISOString() }));
      return loadStartupKit(file);
    };
    await assert.rejects(kitAt('http://coordinator.example:8443'), { code: 'kit_invalid', message: /refusing plain http to coordinator\.example:8443/ });
    await assert.rejects(kitAt('http://10.0.0.5:8443'), { code: 'kit_invalid' });
    await assert.rejects(kitAt('ftp://127.0.0.1'), { code: 'kit_invalid' });
    for (const ok of ['https://coordinator.example:8443', 'http://127.0.0.1:8443', 'http://localhost:8443', 'http://[::1]:8443']) assert.equal((await kitAt(ok)).coordinatorUrl, ok);
  });
});
