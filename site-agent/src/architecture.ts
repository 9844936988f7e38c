import { canonicalJson } from '@lgefed/shared/model/io';
import { isPresetName, unetSpec, type UNetSpec } from '@lgefed/shared/model/spec';
import { createHash } from 'node:crypto';
import { AgentError } from './errors.js';

const OVERRIDABLE = ['stages', 'baseFeatures', 'maxFeatures', 'inputSize', 'inChannels', 'classes'] as const;

/**
 * The network an architecture name stands for: a preset (`lite`, `paper`) optionally with
 * overrides, e.g. `lite:stages=2,baseFeatures=2,maxFeatures=4,inputSize=16`. Jobs name
 * architectures this way; the weights the site uploads carry the same name.
 */
export function resolveArchitecture(name: string): UNetSpec {
  const [preset, overrideText] = name.split(':', 2) as [string, string | undefined];
  if (!isPresetName(preset)) throw new AgentError('architecture_invalid', `unknown architecture ${JSON.stringify(name)} (expected lite or paper, optionally ':key=value,…')`);
  const overrides: Record<string, number> = {};
  for (const pair of overrideText ? overrideText.split(',') : []) {
    const [key, value] = pair.split('=') as [string, string | undefined];
    if (!(OVERRIDABLE as readonly string[]).includes(key) || value === undefined || !/^\d+$/.test(value)) {
      throw new AgentError('architecture_invalid', `architecture ${JSON.stringify(name)}: '${pair}' is not one of ${OVERRIDABLE.join(', ')}=<integer>`);
    }
    overrides[key] = Number(value);
  }
  try {
    return unetSpec(preset, overrides);
  } catch (err) {
    throw new AgentError('architecture_invalid', `architecture ${JSON.stringify(name)}: ${(err as Error).message}`);
  }
}

/** What a site admin pins in `approvedArchitectures`: sha256 of the network's canonical spec. */
export function architectureHash(spec: UNetSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}
