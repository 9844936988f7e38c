import { CoordinatorError } from '../errors.js';
import { chunkFor, type ClientUpdate } from './strategy.js';
import { commonParameterCount } from './validate.js';

/** Where the round started: each site's update is its weights minus these. */
export interface RoundStart {
  readonly parameterCount: number;
  read(start: number, count: number): Promise<Float32Array>;
}

export interface ClippedUpdates {
  readonly updates: ClientUpdate[];
  /** Each site's update norm before clipping, in the order given. */
  readonly norms: number[];
}

/**
 * Update-norm clipping (as in DP-FedAvg, McMahan et al. 2018): a site's update (its weights minus
 * the round's starting weights) longer than `maxNorm` in L2 is scaled down to it, so no one site can
 * move the global model further than that, whatever it sends. Streams like the strategies: one pass
 * per site to measure, then the clipped values are computed as the strategy reads them.
 */
export async function clipUpdates(updates: readonly ClientUpdate[], start: RoundStart, maxNorm: number, requestedChunk?: number): Promise<ClippedUpdates> {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) throw new CoordinatorError('invalid_argument', `clipNorm must be a positive number, got ${maxNorm}`);
  const count = commonParameterCount(updates);
  if (start.parameterCount !== count) throw new CoordinatorError('aggregation_failed', `the round's starting model has ${start.parameterCount} parameters, the updates ${count}`);
  const chunk = chunkFor(updates.length, requestedChunk);
  const norms: number[] = [];
  for (const u of updates) {
    let squares = 0;
    for (let at = 0; at < count; at += chunk) {
      const length = Math.min(chunk, count - at);
      const [values, base] = await Promise.all([u.read(at, length), start.read(at, length)]);
      for (let i = 0; i < length; i++) squares += (values[i]! - base[i]!) ** 2;
    }
    norms.push(Math.sqrt(squares));
  }
  const clipped = updates.map((u, s): ClientUpdate => {
    const scale = norms[s]! > maxNorm ? maxNorm / norms[s]! : 1;
    if (scale === 1) return u;
    return {
      ...u,
      async read(at, length, into) {
        const [values, base] = await Promise.all([u.read(at, length), start.read(at, length)]);
        const out = into ? into.subarray(0, length) : new Float32Array(length);
        for (let i = 0; i < length; i++) out[i] = base[i]! + scale * (values[i]! - base[i]!);
        return out;
      },
    };
  });
  return { updates: clipped, norms };
}
