/**
 * Huge pages for the memory a process receives models into. Receiving a model writes ~100 MB into
 * memory the process has never touched, and on virtual machines the first touch of each 4 KiB page
 * is a costly fault: here, merely touching 496 MB of fresh memory ran at 270-370 MB/s, at
 * 0.6-4.6 GB/s with 2 MiB pages. glibc (2.35 and later) backs its large allocations with
 * transparent huge pages when GLIBC_TUNABLES asks it to; it reads the setting at process start, so
 * it is given to the processes lgefed starts and set in deploy/'s units. Other C libraries ignore it.
 */
const HUGE_PAGE_KEY = 'glibc.malloc.hugetlb';
export const HUGE_PAGE_TUNABLE = `${HUGE_PAGE_KEY}=1`;

/** Whether `env` asks glibc for huge pages. */
export function asksForHugePages(env: Readonly<Record<string, string | undefined>>): boolean {
  return env['GLIBC_TUNABLES']?.split(':').includes(HUGE_PAGE_TUNABLE) ?? false;
}

/** `env` with huge pages asked of glibc, unless it already says what it wants of them. */
export function withHugePages(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const tunables = env['GLIBC_TUNABLES'];
  if (tunables?.split(':').some((tunable) => tunable.startsWith(`${HUGE_PAGE_KEY}=`))) return { ...env };
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${HUGE_PAGE_TUNABLE}` : HUGE_PAGE_TUNABLE };
}

/** `env` asking glibc for huge pages or for its default 4 KiB pages (other tunables kept): for benchmarks that compare the two. */
export function withPageSize(env: Readonly<Record<string, string | undefined>>, hugePages: boolean): Record<string, string | undefined> {
  if (hugePages) return withHugePages(env);
  const others = (env['GLIBC_TUNABLES'] ?? '').split(':').filter((tunable) => tunable !== '' && !tunable.startsWith(`${HUGE_PAGE_KEY}=`));
  return { ...env, GLIBC_TUNABLES: others.join(':') };
}
