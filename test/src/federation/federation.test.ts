import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAgentAudit } from '@lgefed/site-agent/audit-log';
import { prepareSite, startAgent, startCoordinatorProcess, TINY_ARCH, waitForJob, type Proc, type RunningCoordinatorProcess, type SiteSetup } from './harness.js';

/** True when any 4 consecutive float32 voxels of any image occur in `haystack`. */
function containsImageRun(haystack: Buffer, images: readonly Float32Array[]): boolean {
  for (const image of images) {
    const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
    for (let i = 0; i + 16 <= bytes.length; i += 64) if (haystack.includes(bytes.subarray(i, i + 16))) return true;
  }
  return false;
}

describe('federation over real processes (loopback)', function () {
  this.timeout(240_000);
  let root = '';
  let coordinator: RunningCoordinatorProcess;
  const agents: Proc[] = [];
  const sites: SiteSetup[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-fed-'));
    coordinator = await startCoordinatorProcess(join(root, 'coordinator'));
    for (const [i, name] of ['north', 'south', 'east'].entries()) sites.push(await prepareSite(root, join(root, 'coordinator'), name, 11 + i));
    for (const site of sites) agents.push(startAgent(site, ['--capture', join(site.dir, 'capture.jsonl')]));
    await Promise.all(agents.map((a) => a.waitFor(/connected to /)));
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await coordinator?.proc.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('shows every enrolled site connected, with its heartbeat and dataset counts', async () => {
    await new Promise((r) => setTimeout(r, 800));
    const { status, body } = await coordinator.api('GET', '/api/sites');
    assert.equal(status, 200);
    assert.equal(body.length, 3);
    for (const site of body) {
      assert.equal(site.status, 'enrolled');
      assert.equal(site.presence.connected, true);
      assert.ok(site.presence.heartbeatAgeMs < 5000, `heartbeat age ${site.presence.heartbeatAgeMs}`);
      assert.equal(site.presence.datasets[0].caseCount, 6);
      assert.equal(site.presence.capabilities.mlBackend, 'ML_BACKEND_TFJS_CPU');
    }
  });

  it('trains a 3-site FedAvg federation for two rounds, evaluates and aggregates', async () => {
    const submitted = await coordinator.api('POST', '/api/jobs', {
      kind: 'fedavg',
      spec: { sites: sites.map((s) => s.name), rounds: 2, localEpochs: 1, architecture: TINY_ARCH, config: { seed: 3, batchSize: 4 }, deadlineSeconds: 120 },
    });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    const job = await waitForJob(coordinator, submitted.body.id, 200_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.result ?? job).slice(0, 3000));
    const names = job.rounds.map((r: { name: string }) => r.name);
    assert.deepEqual(names, ['local-baselines', 'federated-1', 'federated-2', 'evaluate']);
    const federated = job.rounds.find((r: { name: string }) => r.name === 'federated-2').outcome;
    assert.match(federated.model, /^[0-9a-f]{64}$/);
    assert.equal(federated.participants.length, 3);
    const matrix = job.rounds.find((r: { name: string }) => r.name === 'evaluate').outcome;
    const row = matrix.rows.find((r: { model: string }) => r.model === 'federated');
    assert.deepEqual(Object.keys(row.sites).sort(), ['east', 'north', 'south']);
    for (const site of Object.values(row.sites) as { bloodpool: { n: number; mean: number } }[]) {
      assert.ok(site.bloodpool.n >= 1);
      assert.ok(site.bloodpool.mean >= 0 && site.bloodpool.mean <= 1);
    }
  });

  it('lets no image voxels leave a site: the capture of every sent packet holds no run of image values', async () => {
    for (const site of sites) {
      const packets = (await readFile(join(site.dir, 'capture.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { base64?: string; text?: string });
      assert.ok(packets.length > 10);
      const sent = Buffer.concat(packets.map((p) => (p.base64 ? Buffer.from(p.base64, 'base64') : Buffer.from(String(p.text)))));
      // Envelopes are base64url JWS: decode their payloads too, so nothing hides behind the encoding.
      const decoded = Buffer.concat(
        [...sent.toString('latin1').matchAll(/[A-Za-z0-9_-]{20,}\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]{86}/g)].map((m) => Buffer.from(m[1]!, 'base64url')),
      );
      assert.ok(decoded.length > 0);
      assert.equal(containsImageRun(Buffer.concat([sent, decoded]), site.images), false, `${site.name} sent image data`);
      // The check can fail: the same search finds image bytes when they are there.
      assert.equal(containsImageRun(Buffer.concat([sent, Buffer.from(site.images[0]!.buffer)]), site.images), true);
      const audit = await readAgentAudit(join(site.dir, 'state', 'audit.jsonl'));
      assert.ok(audit.some((e) => e.type === 'TrainResult') && audit.some((e) => e.type === 'chunk') && audit.some((e) => e.type === 'EvaluationResult'));
    }
  });
});
