/**
 * Remembers, per task, when its progress was first seen and the loss it reported per epoch: the
 * presence board keeps only the latest report, but an ETA needs a rate and a live learning curve
 * needs the history. In memory only, like the connections it describes.
 */
export interface LossPoint {
  readonly epoch: number;
  readonly loss: number;
}

interface Track {
  readonly firstAt: number;
  readonly firstFraction: number;
  lastAt: number;
  lastFraction: number;
  readonly losses: Map<number, number>;
}

export class ProgressTracker {
  private readonly tracks = new Map<string, Track>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxTasks = 10_000,
  ) {}

  observe(taskId: string, report: { readonly fraction: number; readonly epoch: number; readonly loss: number; readonly stage: string }): void {
    const at = this.now();
    let track = this.tracks.get(taskId);
    if (!track) {
      if (this.tracks.size >= this.maxTasks) this.tracks.delete(this.tracks.keys().next().value!);
      track = { firstAt: at, firstFraction: report.fraction, lastAt: at, lastFraction: report.fraction, losses: new Map() };
      this.tracks.set(taskId, track);
    }
    if (report.fraction !== track.lastFraction) {
      track.lastAt = at;
      track.lastFraction = report.fraction;
    }
    if (report.stage === 'training' && report.epoch > 0 && Number.isFinite(report.loss)) track.losses.set(report.epoch, report.loss);
  }

  /** Seconds left at the rate observed since the task was first seen; null until it has moved. */
  etaSeconds(taskId: string): number | null {
    const t = this.tracks.get(taskId);
    if (!t || t.lastFraction <= t.firstFraction || t.lastAt <= t.firstAt) return null;
    const rate = (t.lastFraction - t.firstFraction) / (t.lastAt - t.firstAt);
    return Math.max(0, (1 - t.lastFraction) / rate / 1000 - (this.now() - t.lastAt) / 1000);
  }

  /** Latest reported loss per epoch, in epoch order. */
  losses(taskId: string): LossPoint[] {
    const t = this.tracks.get(taskId);
    return t ? [...t.losses].sort((a, b) => a[0] - b[0]).map(([epoch, loss]) => ({ epoch, loss })) : [];
  }
}
