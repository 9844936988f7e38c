import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describeConnectionError } from '@lgefed/site-agent/connection-errors';
import { prepareSite, spawnCliWithEnv, type Proc, type SiteSetup, freePort } from './harness.js';

const run = promisify(execFile);
const MAKE_CA = resolve('deploy/tls/make-ca.sh');

describe('TLS failures said plainly; the kit needed only to enrol (real processes, make-ca.sh)', function () {
  this.timeout(300_000);
  let root = '';
  let port = 0;
  let site: SiteSetup;
  let coordinator: Proc | undefined;
  const agents: Proc[] = [];
  const state = () => join(root, 'coordinator');
  const startCoordinator = async (tls: string) => {
    coordinator = spawnCliWithEnv({}, 'coordinator', 'start', '--state', state(), '--port', String(port), '--public-url', `https://127.0.0.1:${port}`, '--tls-cert', join(tls, 'server.crt'), '--tls-key', join(tls, 'server.key'), '--heartbeat-seconds', '0.5');
    await coordinator.waitFor(/listening on https:/);
  };
  const agent = (env: NodeJS.ProcessEnv) => {
    const proc = spawnCliWithEnv(env, 'site', 'start', '--kit', site.kit, '--config', site.config);
    agents.push(proc);
    return proc;
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-tls-'));
    port = await freePort();
    // The right certificate (127.0.0.1) and, from the same CA, one made for another name.
    await run('bash', [MAKE_CA, join(root, 'tls'), 'localhost', 'IP:127.0.0.1']);
    await mkdir(join(root, 'tls-other'));
    for (const f of ['ca.key', 'ca.crt']) await copyFile(join(root, 'tls', f), join(root, 'tls-other', f));
    await run('bash', [MAKE_CA, join(root, 'tls-other'), 'other.example']);
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await coordinator?.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('names an unknown CA and a name mismatch at enrolment, then enrols, restarts without the kit and logs why it cannot reconnect', async () => {
    await startCoordinator(join(root, 'tls-other'));
    site = await prepareSite(root, state(), 'north', 11);
    const withCa = { NODE_EXTRA_CA_CERTS: join(root, 'tls', 'ca.crt') };

    const noCa = agent({});
    assert.equal(await noCa.exited, 1);
    assert.match(noCa.output, /\[enrolment_failed\] cannot reach https:\/\/127\.0\.0\.1:\d+: its TLS certificate is signed by a CA this machine does not trust \(unknown CA; .*NODE_EXTRA_CA_CERTS/);
    const mismatch = agent(withCa);
    assert.equal(await mismatch.exited, 1);
    assert.match(mismatch.output, /\[enrolment_failed\] cannot reach https:\/\/127\.0\.0\.1:\d+: its TLS certificate is not for 127\.0\.0\.1:\d+ \(name mismatch;/);

    await coordinator!.kill();
    await startCoordinator(join(root, 'tls'));
    const first = agent(withCa);
    await first.waitFor(/connected to https:\/\/127\.0\.0\.1:\d+ as north/);
    await first.kill();

    // As the docs say: delete the kit after the first start. The unit still passes --kit.
    await rm(site.kit);
    const restarted = agent(withCa);
    await restarted.waitFor(/startup kit .*kit\.json is gone: using the identity kept in the state directory/);
    await restarted.waitFor(/connected to https:\/\/127\.0\.0\.1:\d+ as north/);

    // The coordinator goes away: the agent says why it cannot reconnect (once), and comes back by itself.
    await coordinator!.kill();
    await restarted.waitFor(/cannot reach https:\/\/127\.0\.0\.1:\d+: nothing accepts connections at 127\.0\.0\.1:\d+ \(connection refused.*; retrying/);
    const mark = restarted.output.length;
    await startCoordinator(join(root, 'tls'));
    const deadline = Date.now() + 60_000;
    while (!/connected to /.test(restarted.output.slice(mark))) {
      assert.ok(Date.now() < deadline, restarted.output.slice(mark));
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(restarted.output.match(/connection refused/g)?.length, 1, 'logged once, not per retry');
  });

  it('says when a certificate has expired or is not yet valid', () => {
    const failure = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code.toLowerCase()), { code }) });
    assert.match(describeConnectionError('https://c.example:8443', failure('CERT_HAS_EXPIRED')), /TLS certificate has expired/);
    assert.match(describeConnectionError('https://c.example:8443', failure('CERT_NOT_YET_VALID')), /not valid yet \(check this machine's clock\)/);
  });
});
