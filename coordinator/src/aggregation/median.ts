import type { AggregationStrategy, ClientUpdate, TrainingConfig } from './strategy.js';
import { combineCoordinatewise } from './coordinatewise.js';

/** Coordinate-wise median (Yin et al. 2018): robust to a minority of faulty or outlying sites. */
export function coordinateMedian(options: { chunk?: number } = {}): AggregationStrategy {
  return {
    name: 'median',
    configure: (base: TrainingConfig) => base,
    aggregate: (updates: readonly ClientUpdate[]) =>
      combineCoordinatewise(
        updates,
        (sorted) => {
          const mid = sorted.length >> 1;
          return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
        },
        options.chunk,
      ),
  };
}
