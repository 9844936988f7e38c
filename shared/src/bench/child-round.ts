/**
 * A bench round in a child process, with a time limit: a wasm thread pool that stops waking (every
 * thread idle, seen a few times in hundreds of runs) would otherwise leave a benchmark waiting for
 * ever. A child that outlives the limit is killed and its round run once more in a fresh child;
 * a second stall fails the round, so the side is reported as failed, not measured.
 */
import { execFile } from 'node:child_process';

export class StalledRoundError extends Error {
  override readonly name = 'StalledRoundError';
}

export interface ChildRoundOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Kill a child that has not exited after this long. */
  readonly timeoutSeconds: number;
  /** Children started in all, stalls included (default 2). */
  readonly attempts?: number;
  /** Told of each stalled child before the next starts. */
  readonly onStall?: (attempt: number) => void;
}

function runOnce(file: string, args: readonly string[], options: ChildRoundOptions): Promise<{ stdout: string } | 'stalled'> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { env: options.env ?? process.env, maxBuffer: 1 << 20, timeout: options.timeoutSeconds * 1000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error && error.killed) resolve('stalled');
      else if (error) reject(Object.assign(error, { stderr }));
      else resolve({ stdout });
    });
  });
}

/** The child's stdout; rejects with the child's error (its stderr attached) or StalledRoundError. */
export async function runChildRound(file: string, args: readonly string[], options: ChildRoundOptions): Promise<string> {
  const attempts = options.attempts ?? 2;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const outcome = await runOnce(file, args, options);
    if (outcome !== 'stalled') return outcome.stdout;
    options.onStall?.(attempt);
  }
  throw new StalledRoundError(`round stalled: no result within ${options.timeoutSeconds} s in ${attempts} fresh processes`);
}
