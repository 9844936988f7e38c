import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { unetSpec } from '@lgefed/shared/model/spec';
import { initialWeights } from '@lgefed/shared/model/weights';
import { saveModelDirectory } from '@lgefed/shared/workflows/model-files';
import { cli, startCoordinatorProcess, type RunningCoordinatorProcess } from './harness.js';

/** Enrols a site over the real unauthenticated route, as an agent would, without running one. */
async function enrolSite(coordinator: RunningCoordinatorProcess, stateDir: string, name: string, root: string): Promise<void> {
  const kitFile = join(root, `${name}-kit.json`);
  const made = await cli('coordinator', 'enroll', '--state', stateDir, '--site', name, '--out', kitFile);
  assert.equal(made.code, 0, made.stderr);
  const kit = JSON.parse(await readFile(kitFile, 'utf8')) as { enrolmentToken: string };
  const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const res = await fetch(`${coordinator.url}/api/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: kit.enrolmentToken, publicKey: await exportJWK(publicKey) }) });
  assert.equal(res.status, 200);
}

describe('the coordinator’s models: the shipped one from the first start, imports, names in job specs', function () {
  this.timeout(120_000);
  let root = '';
  let coordinator: RunningCoordinatorProcess | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-models-'));
  });
  afterEach(async () => {
    await coordinator?.proc.kill();
    coordinator = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('holds emidec-unet-lite from the first start, by name and hash; jobs naming an unknown model get 400 with the reason', async () => {
    const state = join(root, 'coordinator');
    coordinator = await startCoordinatorProcess(state);
    const listed = await cli('coordinator', 'models', 'list', '--state', state);
    assert.equal(listed.code, 0, listed.stderr);
    const [, shippedHash, architecture] = /^emidec-unet-lite\s+([0-9a-f]{64})\s+(\S+)/m.exec(listed.stdout) ?? [];
    assert.ok(shippedHash, listed.stdout);
    assert.equal(architecture, 'lite', 'the name sites resolve to the shipped network');

    await enrolSite(coordinator, state, 'dijon', root);
    const evaluate = (hash: string) => coordinator!.api('POST', '/api/jobs', { kind: 'evaluate', spec: { sites: ['dijon'], models: [{ label: 'pretrained', hash }] } });
    const byName = await evaluate('emidec-unet-lite');
    assert.equal(byName.status, 200, JSON.stringify(byName.body));
    assert.equal(byName.body.spec.models[0].hash, shippedHash, 'the job keeps the hash the name stood for');
    assert.equal((await evaluate(shippedHash!)).status, 200);

    for (const unknown of ['3abdf040e5ce7a3ce4abde44186ef1da98c3eaa0ec43f7ed675cc163156944b7', 'emidec']) {
      const refused = await evaluate(unknown);
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'invalid_argument');
      assert.match(refused.body.error.message, new RegExp(`models\\[0\\]\\.hash: unknown model "${unknown}".*models list`));
    }
    assert.equal((await coordinator.api('GET', '/api/jobs')).body.length, 2, 'refused specs leave no job behind');

    // A restart finds the model already there: still one entry.
    await coordinator.proc.kill();
    coordinator = await startCoordinatorProcess(state);
    const again = await cli('coordinator', 'models', 'list', '--state', state);
    assert.equal(again.stdout.match(/^emidec-unet-lite /gm)?.length, 1);
  });

  it('imports a model directory under a name; a name cannot move to other weights', async () => {
    const state = join(root, 'coordinator');
    const spec = unetSpec('lite', { stages: 2, baseFeatures: 2, maxFeatures: 4, inputSize: 16 });
    const tiny = join(root, 'tiny-unet');
    await saveModelDirectory(tiny, spec, initialWeights(spec, 1));
    const imported = await cli('coordinator', 'models', 'import', '--state', state, tiny);
    assert.equal(imported.code, 0, imported.stderr);
    const [, hash] = /imported tiny-unet \(lite:stages=2,baseFeatures=2,maxFeatures=4,inputSize=16, \d+ parameters\) as ([0-9a-f]{64})/.exec(imported.stdout) ?? [];
    assert.ok(hash, imported.stdout);
    assert.equal((await cli('coordinator', 'models', 'import', '--state', state, tiny)).code, 0, 'importing the same weights again is a no-op');

    const other = join(root, 'other');
    await saveModelDirectory(other, spec, initialWeights(spec, 2));
    const clash = await cli('coordinator', 'models', 'import', '--state', state, other, '--name', 'tiny-unet');
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /\[conflict\] model name tiny-unet already names [0-9a-f]{64}/);
    const missing = await cli('coordinator', 'models', 'import', '--state', state, join(root, 'nowhere'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\[invalid_argument\] cannot import .*nowhere/);

    coordinator = await startCoordinatorProcess(state);
    await enrolSite(coordinator, state, 'leeds', root);
    const job = await coordinator.api('POST', '/api/jobs', { kind: 'train', spec: { site: 'leeds', architecture: 'lite:stages=2,baseFeatures=2,maxFeatures=4,inputSize=16', initialModel: 'tiny-unet' } });
    assert.equal(job.status, 200, JSON.stringify(job.body));
    assert.equal(job.body.spec.initialModel, hash);
    const list = (await cli('coordinator', 'models', 'list', '--state', state)).stdout;
    assert.match(list, /^emidec-unet-lite /m);
    assert.match(list, new RegExp(`^tiny-unet\\s+${hash}`, 'm'));
  });
});
