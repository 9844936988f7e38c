import type { AggregationStrategy, ClientUpdate } from '../aggregation/strategy.js';
import { CoordinatorError } from '../errors.js';
import type { ParameterReader } from '../model-store.js';
import type { ResultRecord } from '../store/jobs.js';
import { encodeWeightsPrefix, type WeightsHeader } from '@lgefed/protocol/weights-file';
import type { WorkflowContext } from './workflow.js';

/** Checks a site's uploaded model has the expected architecture and records it as a model version. */
export async function acceptResultModel(result: ResultRecord, architecture: string, origin: string, ctx: WorkflowContext): Promise<string> {
  if (!result.modelHash) throw new CoordinatorError('aggregation_failed', `site ${result.siteId} returned no model`);
  const reader = await ctx.models.open(result.modelHash);
  try {
    if (reader.header.architecture !== architecture) {
      throw new CoordinatorError('aggregation_failed', `site ${result.siteId} returned a ${reader.header.architecture} model, the job trains ${architecture}`);
    }
    ctx.registerModel(result.modelHash, architecture, reader.parameterCount, origin);
    return result.modelHash;
  } finally {
    await reader.close();
  }
}

/**
 * Streams an aggregate straight into the model store under the first update's layout and registers
 * it: the coordinator never holds the aggregated model in memory.
 */
export async function storeAggregate(header: WeightsHeader, strategy: AggregationStrategy, updates: readonly ClientUpdate[], origin: string, ctx: WorkflowContext): Promise<string> {
  const writer = await ctx.models.createWriter();
  try {
    await writer.write(encodeWeightsPrefix(header));
    const count = await strategy.stream(updates, (_start, values) => writer.write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)));
    const hash = await writer.commit();
    ctx.registerModel(hash, header.architecture, count, origin);
    return hash;
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

export async function openAll(hashes: readonly string[], ctx: WorkflowContext): Promise<ParameterReader[]> {
  const readers: ParameterReader[] = [];
  try {
    for (const h of hashes) readers.push(await ctx.models.open(h));
    return readers;
  } catch (err) {
    await Promise.all(readers.map((r) => r.close()));
    throw err;
  }
}
