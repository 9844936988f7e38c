import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureReason, interleavedJson, median, otherBusyCores, parseProcStat, quietVerdict, roundsFlag, runInterleaved, sampleOtherBusyCores, spread, type Round } from '@lgefed/shared/bench/interleaved';
import { runPythonPeer } from '@lgefed/shared/bench/python-peer';
import { medianRun } from '@lgefed/protocol/bench/rounds';

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

  it('parses the aggregate cpu line of /proc/stat and counts the CPUs', () => {
    const stat = 'cpu  100 5 30 800 7 2 3 4 50 0\ncpu0 50 2 15 400 3 1 1 2 25 0\ncpu1 50 3 15 400 4 1 2 2 25 0\nintr 12345\nctxt 678\n';
    assert.deepEqual(parseProcStat(stat), { busy: 100 + 5 + 30 + 2 + 3 + 4, total: 100 + 5 + 30 + 2 + 3 + 4 + 800 + 7, cpus: 2 });
    assert.throws(() => parseProcStat('intr 1\n'), /no aggregate cpu line/);
  });

  it("other processes' busy cores: the machine's busy share times its CPUs, less our own CPU time", () => {
    const before = { busy: 1000, total: 2000, cpus: 2 };
    // 150 of 200 jiffies busy on 2 CPUs: 1.5 cores, of which this process used 1 CPU-second per second.
    assert.equal(otherBusyCores(before, { busy: 1150, total: 2200, cpus: 2 }, 1, 1), 0.5);
    assert.equal(otherBusyCores(before, { busy: 1150, total: 2200, cpus: 2 }, 3, 2), 0);
    assert.equal(otherBusyCores(before, { busy: 1005, total: 2200, cpus: 2 }, 0.1, 1), 0, 'never below 0');
    assert.ok(Number.isNaN(otherBusyCores(before, before, 0, 1)));
  });

  it('samples this machine: a number of cores between 0 and the CPUs', async () => {
    const busy = await sampleOtherBusyCores(200);
    assert.ok(busy >= 0 && busy <= availableParallelism() + 0.1, `other busy cores ${busy}`);
  });

  it('quiet only with enough rounds, idle other processes and agreeing rounds, whatever the load', () => {
    // A load of 2 on 2 cores is what our own previous round leaves behind: not a reason.
    const calm = [{ side: 'ours', round: 0, load: 2, otherBusyCores: 0.1 }, { side: 'peer', round: 0, load: 2.1, otherBusyCores: 1.0 }];
    assert.deepEqual(quietVerdict(calm, { ours: { rate: 0.2 } }, 2, 3), { quiet: true, reasons: [] });
    const busy = quietVerdict([...calm, { side: 'peer', round: 1, load: 0.2, otherBusyCores: 1.2 }], { ours: { rate: 0.1 } }, 2, 3);
    assert.equal(busy.quiet, false);
    assert.deepEqual(busy.reasons, ['other processes kept 1.20 cores busy (0.60 per core > 0.5) before peer round 2']);
    const unknown = quietVerdict([{ side: 'ours', round: 0, load: 0, otherBusyCores: NaN }], {}, 2, 3);
    assert.deepEqual(unknown.reasons, ["other processes' CPU use unknown (no /proc/stat)"]);
    const unstable = quietVerdict(calm, { ours: { rate: 0.1 }, peer: { rate: 0.25 } }, 2, 3);
    assert.deepEqual(unstable.reasons, ['peer rate spread 25% > 20%']);
    assert.match(quietVerdict(calm, {}, 2, 1).reasons[0]!, /only 1 round/);
  });

  it('--rounds defaults to 3 and takes a smaller count for smoke runs', () => {
    assert.equal(roundsFlag(['node', 'bench.js']), 3);
    assert.equal(roundsFlag(['node', 'bench.js', '--rounds', '1']), 1);
    assert.throws(() => roundsFlag(['--rounds', '0']));
  });

  it('medianRun picks the whole run with the median figure (the lower middle of an even count) and refuses none', () => {
    const runs = [{ id: 'a', rate: 3 }, { id: 'b', rate: 1 }, { id: 'c', rate: 2 }];
    assert.equal(medianRun(runs, (r) => r.rate).id, 'c');
    assert.equal(medianRun([...runs, { id: 'd', rate: 4 }], (r) => r.rate).id, 'c');
    assert.equal(medianRun([runs[0]!], (r) => r.rate).id, 'a');
    assert.deepEqual(runs.map((r) => r.id), ['a', 'b', 'c'], 'input order kept');
    assert.throws(() => medianRun([], (r: { rate: number }) => r.rate), /no runs/);
  });

  it("alternates the sides, records the load and other processes' busy cores before each round and summarises each side", async () => {
    const calls: string[] = [];
    let tick = 0;
    let others = 0;
    const side = (name: string, rates: number[]) => async () => {
      calls.push(name);
      return round(rates.shift()!);
    };
    const result = await runInterleaved({ ours: side('ours', [10, 12, 11]), peer: side('peer', [5, 5, 6]) }, { rounds: 3, unit: 'slices', load: () => (tick += 0.1), otherBusy: async () => (others += 0.05), cores: 2 });
    assert.deepEqual(calls, ['ours', 'peer', 'ours', 'peer', 'ours', 'peer']);
    assert.deepEqual(result.order.map((o) => [o.side, o.round]), [['ours', 0], ['peer', 0], ['ours', 1], ['peer', 1], ['ours', 2], ['peer', 2]]);
    assert.deepEqual(result.order.map((o) => +o.load.toFixed(1)), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    const json = interleavedJson(result);
    assert.deepEqual(json['otherBusyCores'], [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
    assert.deepEqual((json['peer'] as { values: Record<string, number[]> }).values, { rate: [5, 5, 6], cpu_s: [2, 2, 2], slices_per_cpu_s: [5, 5, 5] }, 'each round in the order it ran');
    assert.equal(result.sides['ours']!.median['rate'], 11);
    assert.equal(result.sides['ours']!.median['slices_per_cpu_s'], 5);
    assert.equal(result.sides['ours']!.median['cpu_s'], 2);
    assert.equal(result.ratios['rate'], 11 / 5);
    assert.equal(result.sides['ours']!.spread['rate'], 2 / 11);
    assert.equal(result.quiet, true, 'other processes up to 0.15 per core, spreads up to 20 %');
  });

  it('a side that throws runs no further rounds and is reported, the other side goes on', async () => {
    let peerCalls = 0;
    const result = await runInterleaved(
      { ours: async () => round(10), peer: async () => { peerCalls++; throw new Error('no torch\nTraceback'); } },
      { rounds: 3, load: () => 0, otherBusy: async () => 0, cores: 2 },
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

  it('ratios are of the first two sides that ran', async () => {
    const result = await runInterleaved(
      { ours: async () => round(10), peer: async () => { throw new Error('no torch'); }, other: async () => round(4) },
      { rounds: 1, load: () => 0, otherBusy: async () => 0, cores: 2 },
    );
    assert.deepEqual(Object.keys(result.sides), ['ours', 'other']);
    assert.equal(result.ratios['rate'], 2.5);
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

  it("adds the peer's environment to this process's", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lgefed-peer-'));
    try {
      const script = join(dir, 'env.py');
      writeFileSync(script, "import os\nprint(os.environ.get('OMP_PROC_BIND'), 'PATH' in os.environ)\n");
      const run = await runPythonPeer(script, [], { python, env: { OMP_PROC_BIND: 'true' } });
      assert.equal(run.stdout.trim(), 'true True');
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
