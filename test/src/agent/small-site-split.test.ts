import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assignCases, splitCounts } from '@lgefed/site-agent/case-split';
import { cli, spawnCli, TINY_ARCH_HASH, writeTinyDataset } from '../federation/harness.js';
import { StandInCoordinator } from './stand-in-coordinator.js';

const roles = (assignment: Record<string, string>) => ({
  train: Object.values(assignment).filter((r) => r === 'train').length,
  validation: Object.values(assignment).filter((r) => r === 'validation').length,
  test: Object.values(assignment).filter((r) => r === 'test').length,
});

describe('site agent: count-based splits for small sites', function () {
  this.timeout(120_000);

  it('gives the sizes the fractions ask for, with at least one training case and one test case', () => {
    const split = { seed: 0, validation: 0.2, test: 0.2 };
    assert.deepEqual(splitCounts(3, split), { train: 1, validation: 1, test: 1 });
    assert.deepEqual(splitCounts(10, split), { train: 6, validation: 2, test: 2 });
    assert.deepEqual(splitCounts(2, split), { train: 1, validation: 0, test: 1 });
    assert.deepEqual(splitCounts(1, split), { train: 1, validation: 0, test: 0 });
    assert.deepEqual(splitCounts(4, { seed: 0, validation: 0, test: 0.1 }), { train: 3, validation: 0, test: 1 });
    for (let seed = 0; seed < 20; seed++) {
      assert.deepEqual(roles(assignCases(['p1', 'p2', 'p3'], {}, { ...split, seed })), { train: 1, validation: 1, test: 1 }, `seed ${seed}`);
    }
  });

  it('never moves a case already assigned; new cases fill the roles furthest below their counts', () => {
    const split = { seed: 4, validation: 0, test: 0.5 };
    const first = assignCases(['a', 'b'], {}, split);
    const grown = assignCases(['a', 'b', 'c', 'd', 'e', 'f'], first, split);
    for (const id of ['a', 'b']) assert.equal(grown[id], first[id]);
    assert.deepEqual(roles(grown), { train: 3, validation: 0, test: 3 });
    assert.deepEqual(assignCases(['a', 'b', 'c', 'd', 'e', 'f'], first, split), grown, 'deterministic');
  });

  describe('with real processes', () => {
    let dir = '';
    let coordinator: StandInCoordinator;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lgefed-small-site-'));
      await writeTinyDataset(join(dir, 'data'), 3, 8);
      coordinator = await StandInCoordinator.start();
      await coordinator.writeKit(join(dir, 'kit.json'));
    });
    after(async () => {
      await coordinator?.close();
      await rm(dir, { recursive: true, force: true });
    });

    const writeConfig = (split: Record<string, number>) =>
      writeFile(join(dir, 'site.json'), JSON.stringify({ stateDir: 'state', datasets: [{ name: 'lge', path: 'data' }], split, backend: 'cpu', policy: { approvedArchitectures: [TINY_ARCH_HASH] } }));

    it('states a three-case split at start with the policy warnings; a changed split is refused naming lgefed site resplit, which applies it', async () => {
      await writeConfig({ seed: 0, validation: 0.2, test: 0.2 });
      // The split is stated at start, before the agent connects: what is tested here needs no session.
      const agent = spawnCli('site', 'start', '--kit', join(dir, 'kit.json'), '--config', join(dir, 'site.json'));
      try {
        await agent.waitFor(/dataset lge: 3\/3 labelled case\(s\); split train 1, validation 1, test 1/);
        await agent.waitFor(/warning: dataset lge: 1 training case\(s\), below policy\.minCasesForWeights 3: trained weights will not leave/);
        await agent.waitFor(/warning: dataset lge: 1 test case\(s\), below policy\.minCasesForMetrics 5: test metrics will be withheld/);
      } finally {
        await agent.kill();
      }
      const file = JSON.parse(await readFile(join(dir, 'state', 'split-lge.json'), 'utf8')) as { seed: number; validation: number; test: number };
      assert.deepEqual([file.seed, file.validation, file.test], [0, 0.2, 0.2]);

      await writeConfig({ seed: 0, validation: 0, test: 0.4 });
      const refused = await cli('site', 'start', '--kit', join(dir, 'kit.json'), '--config', join(dir, 'site.json'));
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /\[split_changed\] dataset lge: site\.json asks for split seed 0, validation 0, test 0\.4, but the split fixed in .*split-lge\.json was made with seed 0, validation 0\.2, test 0\.2\..*lgefed site resplit --config/);

      const resplit = await cli('site', 'resplit', '--config', join(dir, 'site.json'));
      assert.equal(resplit.code, 0, resplit.stderr);
      assert.match(resplit.stdout, /dataset lge: split train 2, validation 0, test 1 \(seed 0\)/);
      const again = spawnCli('site', 'start', '--kit', join(dir, 'kit.json'), '--config', join(dir, 'site.json'));
      try {
        await again.waitFor(/split train 2, validation 0, test 1/);
      } finally {
        await again.kill();
      }
    });
  });
});
