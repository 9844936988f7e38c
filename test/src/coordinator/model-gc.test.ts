import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startCoordinator, type RunningCoordinator } from '@lgefed/coordinator/server';
import { encodeWeights } from '@lgefed/protocol/weights-file';
import { ARCH, LAYOUT, PARAMS } from './federation-harness.js';
import { constantWeights, dataset, HandSite } from './hand-site.js';
import { useTempDir } from './temp-dir.js';

const stored = async (coordinator: RunningCoordinator) => (await readdir(join(coordinator.state.models.dir, 'sha256'))).sort();

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting until ${what}`);
}

/**
 * Issue 13 (medium 12): an enrolled site that uploads weights and never sends the result that
 * registers them must not fill the coordinator's disk: unreferenced weights are collected once older
 * than a grace period, at start and periodically; registered ones stay.
 */
describe('coordinator: garbage collection of unreferenced models (issue 13, medium 12)', function () {
  this.timeout(60_000);
  const dir = useTempDir();

  it('deletes an upload no result ever registered, keeps registered models and young files, and audits what it removed', async () => {
    const coordinator = await startCoordinator({ stateDir: dir(), port: 0, modelGc: { graceMs: 400, intervalMs: 100 } });
    let site: HandSite | undefined;
    try {
      const kept = await coordinator.state.models.put(encodeWeights(LAYOUT, new Float32Array(PARAMS).fill(0.5)));
      coordinator.state.jobs.registerModel(kept, ARCH, PARAMS, 'test');
      const registered = await stored(coordinator); // with the shipped EMIDEC model
      site = await HandSite.join(coordinator, 'leeds', [dataset(4)]);
      await coordinator.engine.submit('train', { site: 'leeds', architecture: ARCH, config: { epochs: 1, seed: 1 } }, 'admin');
      const task = await site.nextTask();
      await site.upload(constantWeights(task, 0.25));
      const withOrphan = await stored(coordinator);
      const [orphan] = withOrphan.filter((hash) => !registered.includes(hash));
      assert.equal(withOrphan.length, registered.length + 1, 'the upload landed in the store');

      // A file younger than the grace period stays, whatever refers to it.
      const young = await coordinator.state.models.collectGarbage(() => false, 3600_000);
      assert.deepEqual(young.removed, []);

      await until(async () => !(await stored(coordinator)).includes(orphan!), 'the orphan upload is collected');
      assert.deepEqual(await stored(coordinator), registered);
      assert.ok(registered.includes(kept));
      const audited = coordinator.state.audit.list({ type: 'models.collected' });
      assert.equal(audited.length, 1);
      const details = audited[0]!.details as { count: number; bytes: number; hashes: string[] };
      assert.deepEqual(details.hashes, [orphan]);
      assert.ok(details.bytes > PARAMS * 4, `${details.bytes} bytes`);
    } finally {
      site?.close();
      await coordinator.close();
    }
  });
});
