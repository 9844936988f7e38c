/** `--rounds N` of a benchmark's command line (a positive integer), else `fallback`. */
export function roundsFlag(fallback: number, argv: readonly string[] = process.argv): number {
  const at = argv.indexOf('--rounds');
  if (at < 0) return fallback;
  const rounds = Number(argv[at + 1]);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds needs a positive integer, got ${argv[at + 1]}`);
  return rounds;
}
