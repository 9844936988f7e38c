import { DEFAULT_CHUNK, type ClientUpdate } from './strategy.js';
import { assertFinite, commonParameterCount } from './validate.js';

/**
 * Applies `combine` to each coordinate's values across sites, reading one chunk of coordinates
 * from every site at a time (memory: chunk × sites, never sites × model).
 */
export async function combineCoordinatewise(
  updates: readonly ClientUpdate[],
  combine: (sortedValues: Float64Array) => number,
  chunk = DEFAULT_CHUNK,
): Promise<Float32Array> {
  const count = commonParameterCount(updates);
  const out = new Float32Array(count);
  const column = new Float64Array(updates.length);
  for (let start = 0; start < count; start += chunk) {
    const length = Math.min(chunk, count - start);
    const slices = await Promise.all(
      updates.map(async (u) => {
        const values = await u.read(start, length);
        assertFinite(u, values, start);
        return values;
      }),
    );
    for (let i = 0; i < length; i++) {
      for (let s = 0; s < slices.length; s++) column[s] = slices[s]![i]!;
      column.sort();
      out[start + i] = combine(column);
    }
  }
  return out;
}
