import { CoordinatorError } from '../errors.js';
import { chunkFor, type AggregateSink, type ClientUpdate } from './strategy.js';
import { assertFinite, commonParameterCount } from './validate.js';

/**
 * Per coordinate, combines the sites' values (in the order given) into one. `values[s]` is site s's
 * value; `scratch` is a buffer of the same length the combiner may reorder freely.
 */
export type CoordinateCombiner = (values: Float64Array, scratch: Float64Array) => number;

/**
 * Reads one chunk of coordinates from every site at a time (checked: length, finite values), has
 * `combine` turn the sites' slices into the aggregate's chunk and hands it to `sink` before reading
 * the next (memory: chunk × sites, never sites × model, never one whole model either).
 */
export async function streamChunks(
  updates: readonly ClientUpdate[],
  combine: (slices: readonly Float32Array[], length: number) => Float32Array,
  sink: AggregateSink,
  requestedChunk?: number,
): Promise<number> {
  const count = commonParameterCount(updates);
  const chunk = chunkFor(updates.length, requestedChunk);
  if (!Number.isInteger(chunk) || chunk < 1) throw new CoordinatorError('invalid_argument', `aggregation chunk must be a positive integer, got ${chunk}`);
  for (let start = 0; start < count; start += chunk) {
    const length = Math.min(chunk, count - start);
    const slices = await Promise.all(
      updates.map(async (u) => {
        const values = await u.read(start, length);
        if (values.length !== length) throw new CoordinatorError('aggregation_failed', `site ${u.siteId} returned ${values.length} values for a ${length}-value range`);
        assertFinite(u, values, start);
        return values;
      }),
    );
    await sink(start, combine(slices, length));
  }
  return count;
}

/** Applies `combine` to each coordinate's values across sites (in the order given), chunk by chunk. */
export function streamCoordinatewise(
  updates: readonly ClientUpdate[],
  combine: CoordinateCombiner,
  sink: AggregateSink,
  requestedChunk?: number,
): Promise<number> {
  const column = new Float64Array(updates.length);
  const scratch = new Float64Array(updates.length);
  return streamChunks(
    updates,
    (slices, length) => {
      const out = new Float32Array(length);
      for (let i = 0; i < length; i++) {
        for (let s = 0; s < slices.length; s++) column[s] = slices[s]![i]!;
        out[i] = combine(column, scratch);
      }
      return out;
    },
    sink,
    requestedChunk,
  );
}

/** Runs a streaming aggregation into one array (small models, tests). */
export async function collectAggregate(stream: (sink: AggregateSink) => Promise<number>): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  const count = await stream(async (_start, values) => void parts.push(values));
  const out = new Float32Array(count);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Copies the values into `scratch` and sorts them there (median and trimmed mean need order). */
export function sortedCopy(values: Float64Array, scratch: Float64Array): Float64Array {
  scratch.set(values);
  return scratch.sort();
}
