/** Benchmarks that repeat their runs: how many rounds, and which run stands for them. */

/** `--rounds N` of a benchmark's command line (a positive integer), else `fallback`. */
export function roundsFlag(fallback: number, argv: readonly string[] = process.argv): number {
  const at = argv.indexOf('--rounds');
  if (at < 0) return fallback;
  const rounds = Number(argv[at + 1]);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds needs a positive integer, got ${argv[at + 1]}`);
  return rounds;
}

/** The run with the median `figure` (the lower middle one for an even count). */
export function medianRun<T>(runs: readonly T[], figure: (run: T) => number): T {
  if (runs.length === 0) throw new Error('no runs');
  const sorted = [...runs].sort((a, b) => figure(a) - figure(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
