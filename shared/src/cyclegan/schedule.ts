import type { CycleGanSchedule } from './protocol.js';

/**
 * The step size of iteration `i` (0-based) of `iterations`: `constant`, or `linear` as Zhu et al.
 * train CycleGAN (the rate for the first half, then decaying linearly toward 0 over the second).
 */
export function learningRateAt(schedule: CycleGanSchedule, rate: number, i: number, iterations: number): number {
  if (schedule === 'constant') return rate;
  const half = iterations / 2;
  return i < half ? rate : (rate * (iterations - i)) / (iterations - half);
}
