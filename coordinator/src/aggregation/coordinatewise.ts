import { CoordinatorError } from '../errors.js';
import { chunkFor, type AggregateSink, type ClientUpdate } from './strategy.js';
import { assertFinite, commonParameterCount } from './validate.js';

/**
 * Per coordinate, combines the sites' values (in the order given) into one. `values[s]` is site s's
 * value; `scratch` is a buffer of the same length the combiner may reorder freely.
 */
export type CoordinateCombiner = (values: Float64Array, scratch: Float64Array) => number;

export interface StreamOptions {
  /** Coordinates per site per step (default: `chunkFor`). */
  readonly chunk?: number;
  /**
   * Check every value read for NaN and infinity (default). A strategy whose result turns
   * non-finite whenever an input does (a weighted mean) may check its result instead and call
   * `assertFinite` on the slices only then, to name the site.
   */
  readonly checkEach?: boolean;
}

/**
 * Reads one chunk of coordinates from every site at a time (checked: length, finite values), has
 * `combine` turn the sites' slices into the aggregate's chunk and hands it to `sink` (memory:
 * chunk × sites, twice, never sites × model, never one whole model either). The next chunk is
 * read while this one is combined and written, into the other of two buffers per site; the slices
 * are valid only during `combine`.
 */
export async function streamChunks(
  updates: readonly ClientUpdate[],
  combine: (slices: readonly Float32Array[], length: number, start: number) => Float32Array,
  sink: AggregateSink,
  options: StreamOptions = {},
): Promise<number> {
  const count = commonParameterCount(updates);
  const chunk = chunkFor(updates.length, options.chunk);
  if (!Number.isInteger(chunk) || chunk < 1) throw new CoordinatorError('invalid_argument', `aggregation chunk must be a positive integer, got ${chunk}`);
  const checkEach = options.checkEach ?? true;
  const buffers = [0, 1].map(() => updates.map(() => new Float32Array(Math.min(chunk, count))));
  const readChunk = (start: number, into: Float32Array[]) => {
    const length = Math.min(chunk, count - start);
    const reading = Promise.all(
      updates.map(async (u, s) => {
        const values = await u.read(start, length, into[s]);
        if (values.length !== length) throw new CoordinatorError('aggregation_failed', `site ${u.siteId} returned ${values.length} values for a ${length}-value range`);
        if (checkEach) assertFinite(u, values, start);
        return values;
      }),
    );
    // Awaited on the next step; until then a failure must not count as unhandled.
    reading.catch(() => undefined);
    return reading;
  };
  let next = count > 0 ? readChunk(0, buffers[0]!) : undefined;
  for (let start = 0, step = 0; start < count; start += chunk, step++) {
    const slices = await next!;
    next = start + chunk < count ? readChunk(start + chunk, buffers[(step + 1) % 2]!) : undefined;
    await sink(start, combine(slices, slices[0]!.length, start));
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
  let out = new Float32Array(0);
  return streamChunks(
    updates,
    (slices, length) => {
      if (out.length !== length) out = new Float32Array(length);
      for (let i = 0; i < length; i++) {
        for (let s = 0; s < slices.length; s++) column[s] = slices[s]![i]!;
        out[i] = combine(column, scratch);
      }
      return out;
    },
    sink,
    { chunk: requestedChunk },
  );
}

/** Runs a streaming aggregation into one array (small models, tests). */
export async function collectAggregate(stream: (sink: AggregateSink) => Promise<number>): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  const count = await stream(async (_start, values) => void parts.push(values.slice()));
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
