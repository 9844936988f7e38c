import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { ARCH } from './federation-harness.js';
import { constantWeights, coordinatorWithHandSites } from './hand-site.js';

const bin = fileURLToPath(new URL('../../../cli/bin/lgefed.js', import.meta.url));

async function lgefed(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * Issue 13 (low): each job report carries the coordinator's signature over report.json and the
 * audit chain's head, so a reviewer can tell the figures are the coordinator's and where in the
 * append-only log they were issued.
 */
describe("coordinator: job reports signed and anchored in the audit chain (issue 13, low)", function () {
  this.timeout(120_000);
  const fixture = coordinatorWithHandSites('signed-report', { leeds: 4 });
  let out = '';
  let token = '';
  let jobId = '';

  before(async () => {
    const { coordinator } = fixture;
    const site = fixture.sites['leeds']!;
    jobId = (await coordinator.engine.submit('train', { site: 'leeds', architecture: ARCH, config: { epochs: 1, seed: 1 } }, 'admin')).id;
    const task = await site.nextTask();
    const weights = constantWeights(task, 0.25);
    await site.upload(weights);
    assert.equal((await site.trainResult(task, weights, 4)).header.msg, 'Ack');
    token = await coordinator.state.adminTokens.issue({ subject: 'reviewer', role: 'viewer' }, 600);
    out = await mkdtemp(join(tmpdir(), 'lgefed-signed-report-'));
  });

  after(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('lgefed report writes report.jws; lgefed report verify accepts it online (audit head checked) and with the public key alone', async () => {
    const { coordinator } = fixture;
    const written = await lgefed('report', '--job', jobId, '--out', out, '--url', coordinator.url, '--token', token);
    assert.equal(written.code, 0, written.stderr);
    assert.match(written.stdout, /signed by the coordinator/);
    const online = await lgefed('report', 'verify', '--dir', out, '--url', coordinator.url, '--token', token);
    assert.equal(online.code, 0, online.stderr);
    const head = coordinator.state.audit.list({ limit: 5000 }).find((e) => online.stdout.includes(`at audit event ${e.seq}`));
    assert.ok(head, online.stdout);
    assert.match(online.stdout, /the audit chain is intact and event \d+ carries the signed hash/);
    // Offline, with the key every site's startup kit carries.
    const keyFile = join(out, 'coordinator.public.jwk');
    await writeFile(keyFile, JSON.stringify(coordinator.state.key.publicJwk));
    const offline = await lgefed('report', 'verify', '--dir', out, '--key', keyFile);
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stdout, new RegExp(`train job ${jobId} \\(completed\\)`));
  });

  it('refuses a report.json changed after signing, and a signature by another key', async () => {
    const keyFile = join(out, 'coordinator.public.jwk');
    const original = await readFile(join(out, 'report.json'), 'utf8');
    try {
      await writeFile(join(out, 'report.json'), original.replace('"completed"', '"failed"'));
      const tampered = await lgefed('report', 'verify', '--dir', out, '--key', keyFile);
      assert.equal(tampered.code, 1);
      assert.match(tampered.stderr, /\[invalid_argument\] report attestation: report.json has SHA-256 [0-9a-f]{64}, the coordinator signed [0-9a-f]{64}: it was changed after signing/);
    } finally {
      await writeFile(join(out, 'report.json'), original);
    }
    const other = join(out, 'other.public.jwk');
    await writeFile(other, JSON.stringify(await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519' })).publicKey)));
    const forged = await lgefed('report', 'verify', '--dir', out, '--key', other);
    assert.equal(forged.code, 1);
    assert.match(forged.stderr, /the signature does not verify with this coordinator's key/);
  });
});
