/**
 * Peer benchmarks a busy machine cannot fool: ours and the peer run alternately (A B A B A B), so a
 * change in load hits both sides alike; every figure is the median of a side's rounds with its spread,
 * the 1-min load is recorded before each round, and work per CPU-second (which load moves far less
 * than wall time) goes with the wall-clock figures. A run is quiet only when no round started while
 * other processes kept the cores busy and each side's rounds agree with each other. The 1-min load is
 * shown but not judged: it still counts our own previous round for about a minute after it ends.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { roundsFlag as parseRoundsFlag } from '@lgefed/protocol/bench/rounds';

/** What one round of one side measured. */
export interface Round {
  /** Figures by name (the same names on both sides give ratios), e.g. train_slices_per_s. */
  readonly figures: Readonly<Record<string, number>>;
  /** CPU seconds of all the round's threads; a child process's from its own accounting. */
  readonly cpuSeconds: number;
  /** Units of work the CPU seconds paid for (slices, calls). */
  readonly work: number;
}

/** Runs one round and measures it. */
export type Side = () => Promise<Round>;

export interface RoundLoad {
  readonly side: string;
  readonly round: number;
  /** 1-min load average just before the round started. */
  readonly load: number;
  /** Cores that processes other than this one kept busy just before the round; NaN when unknown. */
  readonly otherBusyCores: number;
}

export interface SideSummary {
  readonly rounds: readonly Round[];
  /** Per figure, including cpu_s and <unit>_per_cpu_s. */
  readonly median: Readonly<Record<string, number>>;
  /** Per figure: (max - min) / median over the side's rounds. */
  readonly spread: Readonly<Record<string, number>>;
}

export interface Verdict {
  readonly quiet: boolean;
  readonly reasons: readonly string[];
}

export interface Interleaved extends Verdict {
  readonly rounds: number;
  readonly cores: number;
  /** Every round in the order it ran, with the load and other processes' use before it. */
  readonly order: readonly RoundLoad[];
  readonly sides: Readonly<Record<string, SideSummary>>;
  /** Sides that threw, by name, with the reason; they run no further rounds. */
  readonly failed: Readonly<Record<string, string>>;
  /** Median of the first side over the median of the second, of those that did not fail, for figures both have. */
  readonly ratios: Readonly<Record<string, number>>;
}

export interface Limits {
  readonly maxOtherBusyPerCore: number;
  readonly maxSpread: number;
  /** Fewer rounds than this cannot show a spread worth trusting. */
  readonly minRounds: number;
}

export const LIMITS: Limits = { maxOtherBusyPerCore: 0.5, maxSpread: 0.2, minRounds: 3 };

export interface Options {
  readonly rounds?: number;
  /** Names the work unit: figures cpu_s and <unit>_per_cpu_s are added to every round. */
  readonly unit?: string;
  readonly load?: () => number;
  /** Samples other processes' busy cores before a round; default sampleOtherBusyCores. */
  readonly otherBusy?: () => Promise<number>;
  readonly cores?: number;
  readonly limits?: Limits;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** (max - min) / |median|: 0 when all rounds agree, Infinity when they differ around a zero median. */
export function spread(values: readonly number[]): number {
  const range = Math.max(...values) - Math.min(...values);
  if (range === 0) return 0;
  const m = Math.abs(median(values));
  return m === 0 ? Infinity : range / m;
}

/** Jiffies of the machine's aggregate `cpu` line in /proc/stat, and the CPUs it sums. */
export interface CpuTicks {
  readonly busy: number;
  readonly total: number;
  readonly cpus: number;
}

/** Parses /proc/stat: busy is user + nice + system + irq + softirq + steal (guest is already in user). */
export function parseProcStat(text: string): CpuTicks {
  const lines = text.split('\n');
  const aggregate = lines.find((l) => /^cpu\s/.test(l));
  if (!aggregate) throw new Error('/proc/stat has no aggregate cpu line');
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = aggregate.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait, cpus: lines.filter((l) => /^cpu\d+\s/.test(l)).length };
}

/**
 * Cores kept busy by other processes between two samples: the machine's busy share of all CPU time
 * times its CPUs, less this process's own CPU seconds over the interval (never below 0: the kernel's
 * jiffies are coarser than the process's microseconds).
 */
export function otherBusyCores(before: CpuTicks, after: CpuTicks, ownCpuSeconds: number, seconds: number): number {
  const total = after.total - before.total;
  if (total <= 0 || seconds <= 0) return NaN;
  return Math.max(0, ((after.busy - before.busy) / total) * after.cpus - ownCpuSeconds / seconds);
}

/**
 * Samples for `ms` what processes other than this one keep busy. No child of ours runs between
 * rounds, so this process's own CPU time is all there is to take away. NaN without /proc/stat.
 */
export async function sampleOtherBusyCores(ms = 1000): Promise<number> {
  const read = async () => parseProcStat(await readFile('/proc/stat', 'utf8'));
  const ownStart = process.cpuUsage();
  const started = performance.now();
  let before: CpuTicks;
  try {
    before = await read();
  } catch {
    return NaN;
  }
  await sleep(ms);
  const after = await read();
  const own = process.cpuUsage(ownStart);
  return otherBusyCores(before, after, (own.user + own.system) / 1e6, (performance.now() - started) / 1000);
}

const percent = (v: number) => `${(v * 100).toFixed(0)}%`;

export function quietVerdict(order: readonly RoundLoad[], spreads: Readonly<Record<string, Readonly<Record<string, number>>>>, cores: number, rounds: number, limits: Limits = LIMITS): Verdict {
  const reasons: string[] = [];
  if (rounds < limits.minRounds) reasons.push(`only ${rounds} round(s) per side (${limits.minRounds} needed to judge the spread)`);
  if (order.some((o) => Number.isNaN(o.otherBusyCores))) reasons.push("other processes' CPU use unknown (no /proc/stat)");
  for (const { side, round, otherBusyCores: busy } of order) {
    if (busy / cores > limits.maxOtherBusyPerCore) {
      reasons.push(`other processes kept ${busy.toFixed(2)} cores busy (${(busy / cores).toFixed(2)} per core > ${limits.maxOtherBusyPerCore}) before ${side} round ${round + 1}`);
    }
  }
  for (const [side, bySide] of Object.entries(spreads)) {
    for (const [figure, value] of Object.entries(bySide)) {
      if (value > limits.maxSpread) reasons.push(`${side} ${figure} spread ${percent(value)} > ${percent(limits.maxSpread)}`);
    }
  }
  return { quiet: reasons.length === 0, reasons };
}

/** The --rounds N flag (smoke runs may ask for fewer; the verdict then says not quiet). */
export function roundsFlag(argv: readonly string[] = process.argv): number {
  return parseRoundsFlag(LIMITS.minRounds, argv);
}

/** A failed child process's error message names only the command; the last line of its stderr names the cause. */
export function failureReason(error: Error & { stderr?: unknown }): string {
  const stderr = typeof error.stderr === 'string' ? error.stderr : Buffer.isBuffer(error.stderr) ? error.stderr.toString('utf8') : '';
  return stderr.trim().split('\n').pop() || error.message.split('\n')[0]!;
}

function summarise(rounds: readonly Round[]): SideSummary {
  const names = Object.keys(rounds[0]!.figures);
  const column = (name: string) => rounds.map((r) => r.figures[name]!);
  return {
    rounds,
    median: Object.fromEntries(names.map((n) => [n, median(column(n))])),
    spread: Object.fromEntries(names.map((n) => [n, spread(column(n))])),
  };
}

/** Runs the sides in turn, `rounds` times over, in the order the record lists them. */
export async function runInterleaved(sides: Readonly<Record<string, Side>>, options: Options = {}): Promise<Interleaved> {
  const rounds = options.rounds ?? LIMITS.minRounds;
  const unit = options.unit ?? 'work';
  const load = options.load ?? (() => loadavg()[0]!);
  const otherBusy = options.otherBusy ?? (() => sampleOtherBusyCores());
  const cores = options.cores ?? availableParallelism();
  const names = Object.keys(sides);
  const measured: Record<string, Round[]> = Object.fromEntries(names.map((n) => [n, []]));
  const failed: Record<string, string> = {};
  const order: RoundLoad[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const side of names) {
      if (side in failed) continue;
      order.push({ side, round, load: load(), otherBusyCores: await otherBusy() });
      try {
        const r = await sides[side]!();
        const figures = { ...r.figures, cpu_s: r.cpuSeconds, [`${unit}_per_cpu_s`]: r.work / r.cpuSeconds };
        measured[side]!.push({ ...r, figures });
      } catch (error) {
        failed[side] = failureReason(error as Error & { stderr?: unknown });
        order.pop();
      }
    }
  }
  const summaries: Record<string, SideSummary> = {};
  for (const side of names) if (measured[side]!.length > 0) summaries[side] = summarise(measured[side]!);
  // The sides that ran, so that the ratios are those of the table's first two columns.
  const [first, second] = Object.values(summaries);
  const ratios: Record<string, number> = {};
  if (first && second) {
    for (const [figure, value] of Object.entries(first.median)) {
      const other = second.median[figure];
      if (other !== undefined) ratios[figure] = value / other;
    }
  }
  const spreads = Object.fromEntries(Object.entries(summaries).map(([n, s]) => [n, s.spread]));
  const verdict = quietVerdict(order, spreads, cores, rounds, options.limits);
  return { rounds, cores, order, sides: summaries, failed, ratios, ...verdict };
}

const sig = (v: number) => (Number.isFinite(v) ? +v.toPrecision(4) : null);
const mapValues = (record: Readonly<Record<string, number>>, f: (v: number) => number | null) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));

/** The result for a bench's one-line JSON: medians, spreads, each round's values, ratios, the load and other processes' busy cores before each round, the verdict. */
export function interleavedJson(result: Interleaved): Record<string, unknown> {
  return {
    rounds: result.rounds,
    order: result.order.map((o) => o.side),
    loads: result.order.map((o) => +o.load.toFixed(2)),
    otherBusyCores: result.order.map((o) => (Number.isNaN(o.otherBusyCores) ? null : +o.otherBusyCores.toFixed(2))),
    ...Object.fromEntries(
      Object.entries(result.sides).map(([n, s]) => [
        n,
        {
          median: mapValues(s.median, sig),
          spread: mapValues(s.spread, (v) => (Number.isFinite(v) ? +v.toFixed(3) : null)),
          // So a wide spread shows whether one round or all of them strayed.
          values: Object.fromEntries(Object.keys(s.median).map((figure) => [figure, s.rounds.map((r) => sig(r.figures[figure]!))])),
        },
      ]),
    ),
    ratios: mapValues(result.ratios, sig),
    ...(Object.keys(result.failed).length > 0 ? { failed: result.failed } : {}),
    quiet: result.quiet,
    reasons: result.reasons,
  };
}

const show = (v: number | undefined) => (v === undefined ? '-' : Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(3));

/** A table of medians (± spread) and ratios on stdout; a loud boxed warning on stderr when not quiet. */
export function printInterleaved(title: string, result: Interleaved): void {
  const names = Object.keys(result.sides);
  const loads = result.order.map((o) => `${o.side} ${o.load.toFixed(2)} / ${o.otherBusyCores.toFixed(2)}`).join(', ');
  console.log(`\n${title}: ${result.rounds} interleaved round(s) per side (${names.join(', ')}); before each round, 1-min load / other processes' busy cores: ${loads} (${result.cores} cores)`);
  for (const [side, message] of Object.entries(result.failed)) console.log(`${side} failed, no further rounds: ${message}`);
  const ratio = names.length > 1 ? [`${names[0]}/${names[1]}`] : [];
  console.log(`| figure | ${[...names.map((n) => `${n} median (spread)`), ...ratio].join(' | ')} |`);
  console.log(`|---|${[...names, ...ratio].map(() => '---|').join('')}`);
  const figures = [...new Set(names.flatMap((n) => Object.keys(result.sides[n]!.median)))];
  for (const f of figures) {
    const cells = names.map((n) => {
      const s = result.sides[n]!;
      return s.median[f] === undefined ? '-' : `${show(s.median[f])} (${percent(s.spread[f]!)})`;
    });
    if (ratio.length) cells.push(show(result.ratios[f]));
    console.log(`| ${f} | ${cells.join(' | ')} |`);
  }
  warnIfNotQuiet(title, result);
}

/** The loud part alone, for benches that keep a table of their own: a boxed NOT QUIET on stderr. */
export function warnIfNotQuiet(title: string, result: Interleaved): void {
  if (result.quiet) return;
  const lines = [`NOT QUIET: ${title}`, ...result.reasons.map((r) => `  - ${r}`)];
  const width = Math.max(...lines.map((l) => l.length));
  console.error(`\n#${'#'.repeat(width + 2)}#\n${lines.map((l) => `# ${l.padEnd(width)} #`).join('\n')}\n#${'#'.repeat(width + 2)}#`);
}
