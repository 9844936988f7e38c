/**
 * The demo's child processes: every coordinator and agent is a real `lgefed` process on loopback,
 * spawned here, watched for the lines it prints, and stopped (or killed) on request. A group stops
 * every member when the demo ends, fails or is interrupted, so no process outlives it.
 */
import { withHugePages } from '@lgefed/protocol';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** cli/bin/lgefed.js, resolved from this module (dist/demo/ → ../../bin). */
export const LGEFED_BIN = fileURLToPath(new URL('../../bin/lgefed.js', import.meta.url));

/** A process that did not print what was expected in time, or exited first. */
export class ProcessError extends Error {
  override readonly name = 'ProcessError';
}

/** Lines kept per process for error messages; older output is dropped so long runs stay small. */
const MAX_OUTPUT_CHARS = 200_000;

export class ManagedProcess {
  private text = '';
  private readonly listeners = new Set<(line: string) => void>();
  readonly exited: Promise<number | null>;

  constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    let pending = '';
    const collect = (chunk: Buffer) => {
      const s = chunk.toString();
      this.text = (this.text + s).slice(-MAX_OUTPUT_CHARS);
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) for (const listen of this.listeners) listen(line);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? null : 0))));
  }

  get output(): string {
    return this.text;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  onLine(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first match of `pattern` in the output (past or future). */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const seen = pattern.exec(this.text);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        stopListening();
        fn();
      };
      const stopListening = this.onLine((line) => {
        const m = pattern.exec(line);
        if (m) finish(() => resolve(m));
      });
      const timer = setTimeout(() => finish(() => reject(new ProcessError(`${this.label}: no ${pattern} within ${timeoutMs / 1000} s; last output:\n${this.text.slice(-2000)}`))), timeoutMs);
      void this.exited.then((code) => finish(() => reject(new ProcessError(`${this.label} exited (${code}) before printing ${pattern}; last output:\n${this.text.slice(-2000)}`))));
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** An abrupt crash: SIGKILL, no chance to clean up. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Freezes the process (SIGSTOP): it keeps its sockets but answers nothing until resumed. */
  pause(): void {
    if (this.running) this.child.kill('SIGSTOP');
  }

  resume(): void {
    if (this.running) this.child.kill('SIGCONT');
  }
}

/** Every process the demo started; `stopAll` is idempotent and also runs on SIGINT/SIGTERM. */
export class ProcessGroup {
  private readonly members = new Set<ManagedProcess>();

  /** Spawns `node lgefed.js ...args` with the given environment additions (and huge pages: they receive models). */
  spawnLgefed(label: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): ManagedProcess {
    const child = spawn(process.execPath, [LGEFED_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: withHugePages({ ...process.env, ...env }) });
    const managed = new ManagedProcess(label, child);
    this.members.add(managed);
    void managed.exited.then(() => this.members.delete(managed));
    return managed;
  }

  get size(): number {
    return this.members.size;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.members].map((m) => (m.resume(), m.stop())));
  }
}
