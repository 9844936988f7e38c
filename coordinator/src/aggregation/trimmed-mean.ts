import { CoordinatorError } from '../errors.js';
import type { AggregationStrategy, ClientUpdate, TrainingConfig } from './strategy.js';
import { collectAggregate, sortedCopy, streamCoordinatewise } from './coordinatewise.js';

/**
 * Coordinate-wise trimmed mean (Yin et al. 2018): per coordinate, drop the ⌊β·n⌋ largest and
 * smallest site values and average the rest.
 */
export function trimmedMean(options: { trimFraction: number; chunk?: number }): AggregationStrategy {
  const beta = options.trimFraction;
  if (!(beta >= 0 && beta < 0.5)) throw new CoordinatorError('invalid_argument', `trim fraction must be in [0, 0.5), got ${beta}`);
  const stream: AggregationStrategy['stream'] = (updates, sink) => {
    const trim = Math.floor(beta * updates.length);
    return streamCoordinatewise(
      updates,
      (values, scratch) => {
        const sorted = sortedCopy(values, scratch);
        let sum = 0;
        for (let i = trim; i < sorted.length - trim; i++) sum += sorted[i]!;
        return sum / (sorted.length - 2 * trim);
      },
      sink,
      options.chunk,
    );
  };
  return {
    name: 'trimmed-mean',
    configure: (base: TrainingConfig) => base,
    stream,
    aggregate: (updates: readonly ClientUpdate[]) => collectAggregate((sink) => stream(updates, sink)),
  };
}
