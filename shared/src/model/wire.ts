/**
 * Conversion between a U-Net spec and the protocol's ArchitectureSpec. Weights need none: our
 * NamedTensor list is exactly the protocol's tensor set (`packModel(weights, …)` takes it as is).
 * The feature cap travels as `maxFilters` (0 on the wire means uncapped: base·2^(stages−1)).
 */
import type { ArchitectureSpec } from '@lgefed/protocol';
import { ModelSpecError, UNET_ARCHITECTURE, validateSpec, type UNetSpec } from './spec.js';
import { parameterCount } from './weights.js';

export function toArchitectureSpec(spec: UNetSpec): ArchitectureSpec {
  return {
    name: UNET_ARCHITECTURE,
    inputChannels: spec.inChannels,
    outputClasses: spec.classes,
    baseFilters: spec.baseFeatures,
    depth: spec.stages - 1,
    inputHeight: spec.inputSize,
    inputWidth: spec.inputSize,
    parameterCount: parameterCount(spec),
    dropout: 0,
    maxFilters: spec.maxFeatures,
  };
}

/** Validates a received ArchitectureSpec and returns our spec; refuses what we cannot build. */
export function fromArchitectureSpec(wire: ArchitectureSpec): UNetSpec {
  if (wire.inputHeight !== wire.inputWidth) throw new ModelSpecError(`only square inputs are supported, got ${wire.inputWidth}x${wire.inputHeight}`);
  if (wire.dropout !== 0) throw new ModelSpecError(`dropout ${wire.dropout} is not supported`);
  const spec = validateSpec({
    architecture: wire.name,
    stages: wire.depth + 1,
    baseFeatures: wire.baseFilters,
    maxFeatures: wire.maxFilters === 0 ? wire.baseFilters * 2 ** wire.depth : wire.maxFilters,
    inputSize: wire.inputWidth,
    inChannels: wire.inputChannels,
    classes: wire.outputClasses,
  });
  if (wire.parameterCount !== parameterCount(spec)) {
    throw new ModelSpecError(`parameterCount ${wire.parameterCount} does not match the ${parameterCount(spec)} this architecture has`);
  }
  return spec;
}
