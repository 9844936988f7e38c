import { CoordinatorError } from '../errors.js';
import type { ClientUpdate } from './strategy.js';

/** All updates must exist and describe the same parameter vector; returns its length. */
export function commonParameterCount(updates: readonly ClientUpdate[]): number {
  const first = updates[0];
  if (!first) throw new CoordinatorError('aggregation_failed', 'no site updates to aggregate');
  for (const u of updates) {
    if (u.parameterCount !== first.parameterCount) {
      throw new CoordinatorError(
        'aggregation_failed',
        `site ${u.siteId} sent ${u.parameterCount} parameters, site ${first.siteId} sent ${first.parameterCount}`,
      );
    }
  }
  return first.parameterCount;
}

export function assertFinite(update: ClientUpdate, values: Float32Array, start: number): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new CoordinatorError('aggregation_failed', `site ${update.siteId} sent a non-finite value at parameter ${start + i}`);
    }
  }
}
