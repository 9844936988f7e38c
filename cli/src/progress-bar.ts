/**
 * One-line training progress for terminals: a bar, iteration, loss, slices/s and ETA, redrawn in
 * place. When stderr is not a terminal (logs, CI) it prints a plain line every `everyLines` updates.
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

export function progressLine(p: TrainingProgress): string {
  const filled = Math.round((WIDTH * p.iteration) / p.iterations);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
  return `${bar} ${p.iteration}/${p.iterations} loss ${p.loss.toFixed(4)} ${p.slicesPerSecond.toFixed(2)} slices/s ETA ${formatDuration(p.etaSeconds)}`;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr, everyLines = 10): { update(p: TrainingProgress): void; done(): void } {
  let drawn = false;
  return {
    update(p) {
      if (stream.isTTY) {
        stream.write(`\r${progressLine(p)}\x1b[K`);
        drawn = true;
      } else if (p.iteration % everyLines === 0 || p.iteration === p.iterations) {
        stream.write(`${progressLine(p)}\n`);
      }
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
