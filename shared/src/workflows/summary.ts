/** Mean ± sd per structure over cases, in the shape `lgefed evaluate --json` prints. */
import type { CaseScores } from '../metrics/evaluate.js';
import { STRUCTURES, type Structure } from '../types.js';

export interface MeanSd {
  readonly mean: number;
  /** Sample standard deviation (n − 1); 0 for a single value. */
  readonly sd: number;
  /** Values the statistic is over (HD95 skips cases where exactly one of prediction and truth is empty). */
  readonly n: number;
}

export interface ScoreSummary {
  readonly dice: Record<Structure, MeanSd>;
  readonly hd95: Record<Structure, MeanSd | null>;
}

export function meanSd(values: readonly number[]): MeanSd {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, sd: Math.sqrt(variance), n };
}

export function summariseScores(scores: readonly CaseScores[]): ScoreSummary {
  const dice = {} as Record<Structure, MeanSd>;
  const hd95 = {} as Record<Structure, MeanSd | null>;
  for (const structure of STRUCTURES) {
    dice[structure] = meanSd(scores.map((s) => s[structure].dice));
    const distances = scores.map((s) => s[structure].hd95Mm).filter((d): d is number => d !== null);
    hd95[structure] = distances.length > 0 ? meanSd(distances) : null;
  }
  return { dice, hd95 };
}
