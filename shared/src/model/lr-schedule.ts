/**
 * Learning-rate schedules for training. `poly` is nnU-Net's PolyLRScheduler: lr·(1 − i/N)^0.9,
 * which lets a long run settle into a minimum instead of hopping around it at the full rate.
 */
export const LEARNING_RATE_SCHEDULES = ['constant', 'poly'] as const;
export type LearningRateSchedule = (typeof LEARNING_RATE_SCHEDULES)[number];

const POLY_EXPONENT = 0.9;

export function isLearningRateSchedule(name: string): name is LearningRateSchedule {
  return (LEARNING_RATE_SCHEDULES as readonly string[]).includes(name);
}

/** The rate for 0-based `iteration` of a run planned for `iterations`. */
export function scheduledLearningRate(schedule: LearningRateSchedule, base: number, iteration: number, iterations: number): number {
  if (schedule === 'constant') return base;
  return base * Math.pow(1 - iteration / iterations, POLY_EXPONENT);
}
