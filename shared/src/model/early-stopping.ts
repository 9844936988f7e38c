/**
 * Early stopping on held-out slices: the loss of fixed, un-augmented held-out windows is checked
 * before training and every few iterations; training stops after `patience` checks in a row
 * without a new best, and the weights of the best check are the result. Checking before the first
 * step means fine-tuning never returns weights worse (on the held-out slices) than it started from.
 */
import type { Batch } from './batches.js';

export interface EarlyStopping {
  /** Held-out slices at the model's input size, never trained on. */
  readonly heldOut: Batch;
  /** Iterations between checks. */
  readonly every: number;
  /** Checks in a row without improvement that end training. */
  readonly patience: number;
}

export interface HeldOutCheck {
  /** Iterations trained when the check ran (0 = the starting weights). */
  readonly iteration: number;
  readonly loss: number;
}

export interface EarlyStoppingOutcome {
  readonly checks: HeldOutCheck[];
  /** Iteration whose weights were kept. */
  readonly bestIteration: number;
  /** True when patience ran out before the planned iterations. */
  readonly stoppedEarly: boolean;
}

export class EarlyStoppingError extends Error {
  override readonly name = 'EarlyStoppingError';
}

export function checkEarlyStopping(options: EarlyStopping): void {
  for (const [field, value] of [['every', options.every], ['patience', options.patience]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new EarlyStoppingError(`early stopping ${field} must be a positive integer, got ${value}`);
  }
  if (options.heldOut.count < 1) throw new EarlyStoppingError('early stopping needs at least one held-out slice');
}

/** Keeps the checks and says, after each, whether it is a new best and whether to stop. */
export class EarlyStoppingMonitor {
  private readonly checks: HeldOutCheck[] = [];
  private best: HeldOutCheck | undefined;
  private stale = 0;

  constructor(private readonly patience: number) {}

  record(iteration: number, loss: number): { readonly improved: boolean; readonly stop: boolean } {
    this.checks.push({ iteration, loss });
    // A NaN loss never counts as an improvement.
    const improved = this.best === undefined ? Number.isFinite(loss) : loss < this.best.loss;
    if (improved) {
      this.best = { iteration, loss };
      this.stale = 0;
    } else this.stale++;
    return { improved, stop: this.stale >= this.patience };
  }

  outcome(stoppedEarly: boolean): EarlyStoppingOutcome {
    return { checks: [...this.checks], bestIteration: this.best?.iteration ?? 0, stoppedEarly };
  }
}
