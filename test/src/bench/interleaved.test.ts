import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureReason, interleavedJson, median, quietVerdict, roundsFlag, runInterleaved, spread, type Round } from '@lgefed/shared/bench/interleaved';
import { runPythonPeer } from '@lgefed/shared/bench/python-peer';

const round = (rate: number, cpuSeconds = 2, work = 10): Round => ({ figures: { rate }, cpuSeconds, work });

describe('bench: interleaved rounds', () => {
  it('median of odd and even counts, unsorted input left as it was', () => {
    const values = [5, 1, 3];
    assert.equal(median(values), 3);
    assert.deepEqual(values, [5, 1, 3]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]));
  });

  it('spread is (max - min) / median', () => {
    assert.equal(spread([9, 10, 11]), 0.2);
    assert.equal(spread([7, 7, 7]), 0);
    assert.equal(spread([-1, 0, 1]), Infinity);
  });

  it('quiet only with enough rounds, low load and agreeing rounds', () => {
    const calm = [{ side: 'ours', round: 0, load: 0.9 }, { side: 'peer', round: 0, load: 1.0 }];
    assert.deepEqual(quietVerdict(calm, { ours: { rate: 0.2 } }, 2, 3), { quiet: true, reasons: [] });
    const busy = quietVerdict([...calm, { side: 'peer', round: 1, load: 1.2 }], { ours: { rate: 0.1 } }, 2, 3);
    assert.equal(busy.quiet, false);
    assert.deepEqual(busy.reasons, ['load 1.20 (0.60 per core > 0.5) before peer round 2']);
    const unstable = quietVerdict(calm, { ours: { rate: 0.1 }, peer: { rate: 0.25 } }, 2, 3);
    assert.deepEqual(unstable.reasons, ['peer rate spread 25% > 20%']);
    assert.match(quietVerdict(calm, {}, 2, 1).reasons[0]!, /only 1 round/);
  });

  it('--rounds defaults to 3 and takes a smaller count for smoke runs', () => {
    assert.equal(roundsFlag(['node', 'bench.js']), 3);
    assert.equal(roundsFlag(['node', 'bench.js', '--rounds', '1']), 1);
    assert.throws(() => roundsFlag(['--rounds', '0']));
  });

  it('alternates the sides, records the load before each round and summarises each side', async () => {
    const calls: string[] = [];
    let tick = 0;
    const side = (name: string, rates: number[]) => async () => {
      calls.push(name);
      return round(rates.shift()!);
    };
    const result = await runInterleaved({ ours: side('ours', [10, 12, 11]), peer: side('peer', [5, 5, 6]) }, { rounds: 3, unit: 'slices', load: () => (tick += 0.1), cores: 2 });
    assert.deepEqual(calls, ['ours', 'peer', 'ours', 'peer', 'ours', 'peer']);
    assert.deepEqual(result.order.map((o) => [o.side, o.round]), [['ours', 0], ['peer', 0], ['ours', 1], ['peer', 1], ['ours', 2], ['peer', 2]]);
    assert.deepEqual(result.order.map((o) => +o.load.toFixed(1)), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    assert.equal(result.sides['ours']!.median['rate'], 11);
    assert.equal(result.sides['ours']!.median['slices_per_cpu_s'], 5);
    assert.equal(result.sides['ours']!.median['cpu_s'], 2);
    assert.equal(result.ratios['rate'], 11 / 5);
    assert.equal(result.sides['ours']!.spread['rate'], 2 / 11);
    assert.equal(result.quiet, true, 'loads up to 0.3 per core, spreads up to 20 %');
  });

  it('a side that throws runs no further rounds and is reported, the other side goes on', async () => {
    let peerCalls = 0;
    const result = await runInterleaved(
      { ours: async () => round(10), peer: async () => { peerCalls++; throw new Error('no torch\nTraceback'); } },
      { rounds: 3, load: () => 0, cores: 2 },
    );
    assert.equal(peerCalls, 1);
    assert.deepEqual(result.failed, { peer: 'no torch' });
    assert.deepEqual(result.order.map((o) => o.side), ['ours', 'ours', 'ours']);
    assert.deepEqual(result.ratios, {});
    assert.equal(result.quiet, true);
    const json = interleavedJson(result);
    assert.deepEqual(json['loads'], [0, 0, 0]);
    assert.deepEqual(json['failed'], { peer: 'no torch' });
  });

  it('a failed child process is reported by the last line of its stderr', () => {
    const error = Object.assign(new Error('Command failed: python3 -c\nimport torch'), { stderr: 'Traceback:\n  ...\nModuleNotFoundError: torch\n' });
    assert.equal(failureReason(error), 'ModuleNotFoundError: torch');
    assert.equal(failureReason(new Error('first\nsecond')), 'first');
  });
});

describe('bench: Python peer with its own CPU accounting', function () {
  this.timeout(30_000);
  const python = '/usr/bin/python3';
  before(function () {
    if (!existsSync(python)) this.skip();
  });

  it('counts the script CPU time and hands back its stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lgefed-peer-'));
    try {
      const script = join(dir, 'burn.py');
      writeFileSync(script, 'import sys, time\nend = time.process_time() + 0.2\nwhile time.process_time() < end: pass\nprint(sys.argv[1:])\n');
      const run = await runPythonPeer(script, ['a', 'b'], { preload: ['json'], python });
      assert.equal(run.stdout.trim(), "['a', 'b']");
      assert.ok(run.cpuSeconds >= 0.19 && run.cpuSeconds < 2, `cpu ${run.cpuSeconds}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with the cause last on stderr, as the runner reports it', async () => {
    const error = await runPythonPeer('/nonexistent.py', [], { preload: ['no_such_module_lgefed'], python }).then(
      () => assert.fail('ran'),
      (e: Error) => e,
    );
    assert.equal(failureReason(error), "ModuleNotFoundError: No module named 'no_such_module_lgefed'");
  });
});
