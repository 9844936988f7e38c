/**
 * A figure of interleaved bench rounds: every side's value in every round, one panel per figure, one
 * line per side, so a reader sees whether a wide spread is one stray round or a drifting machine, and
 * whether the two sides drifted together.
 */
import { learningCurveSpec, type FigureSpec, type LearningPointRow } from '../plots/figures.js';
import type { Interleaved } from './interleaved.js';

/** Rows of `figures` over the rounds of `result`, panels named `${label} ${figure}`; sides without a figure are left out. */
export function roundRows(label: string, result: Interleaved, figures: readonly string[]): LearningPointRow[] {
  return Object.entries(result.sides).flatMap(([side, summary]) =>
    figures.flatMap((figure) =>
      summary.rounds.flatMap((round, index) => {
        const value = round.figures[figure];
        return value === undefined || !Number.isFinite(value) ? [] : [{ series: side, step: index + 1, metric: `${label} ${figure}`, value }];
      }),
    ),
  );
}

export function roundsFigureSpec(rows: readonly LearningPointRow[], title: string): FigureSpec {
  return learningCurveSpec(rows, 'round', title);
}
