/**
 * One-line progress for terminals: a bar, iteration, what the task reports (loss, slices/s) and
 * ETA, redrawn in place. When stderr is not a terminal (logs, CI) it prints a plain line every
 * `everyLines` updates.
 */
import type { TrainingProgress } from '@lgefed/shared/model/index';

const WIDTH = 24;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(rest).padStart(2, '0')}s`;
}

export interface IterationProgress {
  readonly iteration: number;
  readonly iterations: number;
  readonly etaSeconds: number;
}

/**
 * What segmentation training reports beside the bar; with early stopping, also the best held-out
 * loss so far and when it was reached (checks come every few iterations, the bar every one).
 */
export function trainingDetail(): (p: TrainingProgress) => string {
  let best: { loss: number; iteration: number } | undefined;
  return (p) => {
    if (p.heldOutLoss !== undefined && !(best && best.loss <= p.heldOutLoss)) best = { loss: p.heldOutLoss, iteration: p.iteration };
    const heldOut = best ? ` held-out best ${best.loss.toFixed(4)} @${best.iteration}` : '';
    return `loss ${p.loss.toFixed(4)}${heldOut} ${p.slicesPerSecond.toFixed(2)} slices/s`;
  };
}

export function progressLine<P extends IterationProgress>(p: P, detail: (p: P) => string): string {
  const filled = Math.round((WIDTH * p.iteration) / p.iterations);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
  return `${bar} ${p.iteration}/${p.iterations} ${detail(p)} ETA ${formatDuration(p.etaSeconds)}`;
}

export function progressBar<P extends IterationProgress>(detail: (p: P) => string, stream: NodeJS.WriteStream = process.stderr, everyLines = 10): { update(p: P): void; done(): void } {
  let drawn = false;
  return {
    update(p) {
      if (stream.isTTY) {
        stream.write(`\r${progressLine(p, detail)}\x1b[K`);
        drawn = true;
      } else if (p.iteration % everyLines === 0 || p.iteration === p.iterations) {
        stream.write(`${progressLine(p, detail)}\n`);
      }
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
