import type { AggregationStrategy, ClientUpdate, TrainingConfig } from './strategy.js';
import { collectAggregate, sortedCopy, streamCoordinatewise, type CoordinateCombiner } from './coordinatewise.js';

const median: CoordinateCombiner = (values, scratch) => {
  const sorted = sortedCopy(values, scratch);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Coordinate-wise median (Yin et al. 2018): robust to a minority of faulty or outlying sites. */
export function coordinateMedian(options: { chunk?: number } = {}): AggregationStrategy {
  const stream: AggregationStrategy['stream'] = (updates, sink) => streamCoordinatewise(updates, median, sink, options.chunk);
  return {
    name: 'median',
    configure: (base: TrainingConfig) => base,
    stream,
    aggregate: (updates: readonly ClientUpdate[]) => collectAggregate((sink) => stream(updates, sink)),
  };
}
