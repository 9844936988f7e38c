import type { AggregateMetrics } from '@lgefed/protocol';
import { STRUCTURES } from '@lgefed/shared/types';
import type { ScoredCases } from './task-protocol.js';

export const wireStructure = (s: string) => `STRUCTURE_${s.toUpperCase()}` as AggregateMetrics['structure'];

/** Per-structure summaries of scored cases; the policy filter later withholds what the site does not release. */
export const aggregatesOf = (cases: ScoredCases): AggregateMetrics[] => STRUCTURES.map((s) => summarise(s, cases.map((c) => c.scores[s])));

function summarise(structure: string, scores: readonly { dice: number; hd95Mm: number | null; predictedMl: number; trueMl: number }[]): AggregateMetrics {
  const n = scores.length;
  const dice = scores.map((s) => s.dice).sort((a, b) => a - b);
  const mean = dice.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const sd = n > 1 ? Math.sqrt(dice.reduce((a, d) => a + (d - mean) ** 2, 0) / (n - 1)) : 0;
  const hd = scores.map((s) => s.hd95Mm).filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  const median = (v: number[]) => (v.length === 0 ? 0 : v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2);
  return {
    structure: wireStructure(structure),
    caseCount: n,
    meanDice: mean,
    stdDice: sd,
    medianDice: median(dice),
    meanHd95Mm: hd.length ? hd.reduce((a, b) => a + b, 0) / hd.length : 0,
    medianHd95Mm: median(hd),
    meanAbsVolumeErrorMl: scores.reduce((a, s) => a + Math.abs(s.predictedMl - s.trueMl), 0) / Math.max(1, n),
  };
}
