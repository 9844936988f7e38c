/**
 * Block freezing for transfer learning: train only the first k encoder blocks and/or the last m
 * decoder blocks (decoder blocks counted in forward order, so "last" means nearest the output).
 */
import type { UNetSpec } from './spec.js';
import { blockOf, parameterLayout } from './weights.js';

export interface FreezeOptions {
  /** Train enc0..enc{k-1}. */
  readonly trainEncoderBlocks?: number;
  /** Train the last m decoder blocks, dec{S-1-m}..dec{S-2}. */
  readonly trainDecoderBlocks?: number;
}

export class FreezeError extends Error {
  override readonly name = 'FreezeError';
}

/** Names of the blocks that train; with no freeze options every block trains. */
export function trainableBlocks(spec: UNetSpec, freeze: FreezeOptions = {}): Set<string> {
  const encoders = Array.from({ length: spec.stages }, (_, i) => `enc${i}`);
  const decoders = Array.from({ length: spec.stages - 1 }, (_, i) => `dec${i}`);
  const { trainEncoderBlocks: k, trainDecoderBlocks: m } = freeze;
  if (k === undefined && m === undefined) return new Set([...encoders, ...decoders]);
  const check = (value: number | undefined, max: number, field: string): number => {
    if (value === undefined) return 0;
    if (!Number.isInteger(value) || value < 0 || value > max) throw new FreezeError(`${field} must be an integer in 0..${max}, got ${value}`);
    return value;
  };
  const encoderCount = check(k, encoders.length, 'trainEncoderBlocks');
  const decoderCount = check(m, decoders.length, 'trainDecoderBlocks');
  if (encoderCount + decoderCount === 0) throw new FreezeError('freezing every block leaves nothing to train');
  return new Set([...encoders.slice(0, encoderCount), ...decoders.slice(decoders.length - decoderCount)]);
}

/** Parameter names that the optimiser updates under `freeze`, canonical order. */
export function trainableParameters(spec: UNetSpec, freeze: FreezeOptions = {}): string[] {
  const blocks = trainableBlocks(spec, freeze);
  return parameterLayout(spec)
    .map((p) => p.name)
    .filter((name) => blocks.has(blockOf(name)));
}
