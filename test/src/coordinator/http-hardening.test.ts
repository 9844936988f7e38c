import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startCoordinator } from '@lgefed/coordinator/server';
import { openDatabase } from '@lgefed/coordinator/store/database';
import { useTempDir } from './temp-dir.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../cli/bin/lgefed.js', import.meta.url));
const makeCa = fileURLToPath(new URL('../../../deploy/tls/make-ca.sh', import.meta.url));
const noTransport = { send: () => false };

describe('coordinator REST API: security headers, a rate limit, bounded enrolment TTL, audit verification (issue 13, low)', function () {
  this.timeout(120_000);
  const dir = useTempDir();

  it('sends CSP, frame-ancestors none, nosniff and no X-Powered-By on the API, the console and errors; HSTS over TLS only', async () => {
    const coordinator = await startCoordinator({ stateDir: join(dir(), 'plain'), port: 0, transport: noTransport });
    try {
      for (const path of ['/api/whoami', '/console/', '/api/no-such-route']) {
        const res = await fetch(coordinator.url + path);
        assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, path);
        assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/, path);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
        assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
        assert.equal(res.headers.get('x-powered-by'), null, path);
        assert.equal(res.headers.get('strict-transport-security'), null, `${path}: no HSTS over plain HTTP`);
      }
    } finally {
      await coordinator.close();
    }
    const ca = join(dir(), 'tls');
    await run('bash', [makeCa, ca, 'localhost']);
    const tls = await startCoordinator({ stateDir: join(dir(), 'tls-state'), port: 0, transport: noTransport, tlsCert: join(ca, 'server.crt'), tlsKey: join(ca, 'server.key') });
    try {
      const agent = new Agent({ ca: await readFile(join(ca, 'ca.crt')) });
      const port = new URL(tls.url).port;
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        request({ host: 'localhost', port, path: '/api/whoami', agent }, (res) => {
          res.resume();
          resolve(res.headers);
        })
          .on('error', reject)
          .end();
      });
      assert.match(String(headers['strict-transport-security']), /max-age=\d+/);
      assert.equal(headers['x-powered-by'], undefined);
    } finally {
      await tls.close();
    }
  });

  it('refuses an address that floods the API with 429 and Retry-After, leaves the console files alone', async () => {
    const coordinator = await startCoordinator({ stateDir: dir(), port: 0, transport: noTransport, rateLimit: { maxRequests: 20, windowMs: 60_000 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await fetch(`${coordinator.url}/api/whoami`)).status);
      assert.deepEqual(statuses.slice(0, 20), new Array(20).fill(401), 'unauthenticated, but answered');
      assert.deepEqual(statuses.slice(20), new Array(10).fill(429));
      const limited = await fetch(`${coordinator.url}/api/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(limited.status, 429, 'token guessing at the enrolment route too');
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assert.equal(((await limited.json()) as { error: { code: string } }).error.code, 'rate_limited');
      assert.equal((await fetch(`${coordinator.url}/console/`)).status, 200);
    } finally {
      await coordinator.close();
    }
  });

  it('a huge enrolment TTL is a 400 that leaves no site behind', async () => {
    const coordinator = await startCoordinator({ stateDir: dir(), port: 0, transport: noTransport });
    try {
      const admin = await coordinator.state.adminTokens.issue({ subject: 'alice', role: 'admin' }, 600);
      for (const ttlHours of [1e306, 721, -1, 'soon']) {
        const res = await fetch(`${coordinator.url}/api/sites/york/enrolment`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ttlHours }),
        });
        assert.equal(res.status, 400, `ttlHours ${ttlHours}`);
        assert.match(((await res.json()) as { error: { message: string } }).error.message, /token lifetime must be positive and at most 720 hours/);
      }
      assert.equal(coordinator.state.sites.byName('york'), undefined);
      assert.equal(coordinator.state.audit.list({ type: 'site.enrolment_issued' }).length, 0);
    } finally {
      await coordinator.close();
    }
  });

  it('an audit row changed while the coordinator was down is found at start and by lgefed admin audit verify', async () => {
    let coordinator = await startCoordinator({ stateDir: dir(), port: 0, transport: noTransport });
    let admin = await coordinator.state.adminTokens.issue({ subject: 'alice', role: 'viewer' }, 600);
    const verify = () => run(process.execPath, [bin, 'admin', 'audit', 'verify', '--url', coordinator.url, '--token', admin]);
    try {
      coordinator.state.sites.createEnrolment('dijon', 3600_000, 'admin:alice');
      assert.match((await verify()).stdout, /^audit chain intact \(\d+ events\)$/m);
    } finally {
      await coordinator.close();
    }
    // Someone with the database file removes the append-only trigger and rewrites who acted.
    const db = openDatabase(join(dir(), 'coordinator.db'));
    const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'").all() as { name: string }[];
    for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
    const row = db.prepare("SELECT seq FROM audit_log WHERE type = 'site.enrolment_issued'").get() as { seq: number };
    db.prepare("UPDATE audit_log SET actor = 'admin:nobody' WHERE seq = ?").run(row.seq);
    db.close();

    coordinator = await startCoordinator({ stateDir: dir(), port: 0, transport: noTransport });
    try {
      assert.deepEqual(
        coordinator.state.audit.list({ type: 'audit.chain_broken' }).map((e) => e.details),
        [{ firstBrokenSeq: row.seq }],
        'the start records where the chain breaks',
      );
      admin = await coordinator.state.adminTokens.issue({ subject: 'alice', role: 'viewer' }, 600);
      await assert.rejects(verify(), (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 1);
        assert.match(e.stderr, new RegExp(`audit chain broken at event ${row.seq} of \\d+`));
        return true;
      });
    } finally {
      await coordinator.close();
    }
  });
});
