/**
 * Terminal progress for the demo: one bar per running job (rounds, and each site's progress within
 * the current round), redrawn in place on a terminal; on a log or CI, a line whenever a job moves to
 * a new round or state, and a heartbeat line every `heartbeatMs`.
 */
import type { JobView } from '@lgefed/coordinator/live/console-views';
import { jobProgressLine } from '../commands/admin.js';

export class ProgressBoard {
  private readonly lines = new Map<string, string>();
  private readonly milestones = new Map<string, string>();
  private readonly lastPrinted = new Map<string, number>();
  private drawn = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly heartbeatMs = 15_000,
  ) {}

  /** A job's latest view, under its study label. */
  update(label: string, view: JobView): void {
    const line = `${label.padEnd(34).slice(0, 34)} ${jobProgressLine(view, 20)}`;
    this.lines.set(label, line);
    if (this.stream.isTTY) return this.redraw();
    const done = view.rounds.filter((r) => r.status === 'completed').length;
    const milestone = `${view.status} ${done} ${view.rounds.find((r) => r.status === 'running')?.name ?? ''}`;
    const now = Date.now();
    if (milestone !== this.milestones.get(label) || now - (this.lastPrinted.get(label) ?? 0) > this.heartbeatMs) {
      this.milestones.set(label, milestone);
      this.lastPrinted.set(label, now);
      this.stream.write(`${line}\n`);
    }
  }

  /** Stops showing a finished job (its end is reported by the caller). */
  remove(label: string): void {
    this.lines.delete(label);
    if (this.stream.isTTY) this.redraw();
  }

  /** Prints a message above the bars. */
  log(message: string): void {
    if (!this.stream.isTTY) return void this.stream.write(`${message}\n`);
    this.clear();
    this.stream.write(`${message}\n`);
    this.redraw();
  }

  private clear(): void {
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private redraw(): void {
    this.clear();
    const width = this.stream.columns ?? 120;
    for (const line of this.lines.values()) this.stream.write(`${line.slice(0, width - 1)}\n`);
    this.drawn = this.lines.size;
  }
}
