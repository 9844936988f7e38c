import { isPresetName, ModelSpecError, PRESETS, unetSpec, type UNetSpec } from './spec.js';

const OVERRIDABLE = ['stages', 'baseFeatures', 'maxFeatures', 'inputSize', 'inChannels', 'classes'] as const;

/**
 * The network an architecture name stands for: a preset (`lite`, `paper`) optionally with
 * overrides, e.g. `lite:stages=2,baseFeatures=2,maxFeatures=4,inputSize=16`. Jobs name
 * architectures this way and the weights sites upload carry the same name, so the agent builds the
 * network and the coordinator checks the tensor layout of what comes back from one definition.
 */
export function architectureFromName(name: string): UNetSpec {
  const [preset, overrideText] = name.split(':', 2) as [string, string | undefined];
  if (!isPresetName(preset)) throw new ModelSpecError(`unknown architecture ${JSON.stringify(name)} (expected lite or paper, optionally ':key=value,…')`);
  const overrides: Record<string, number> = {};
  for (const pair of overrideText ? overrideText.split(',') : []) {
    const [key, value] = pair.split('=') as [string, string | undefined];
    if (!(OVERRIDABLE as readonly string[]).includes(key) || value === undefined || !/^\d+$/.test(value)) {
      throw new ModelSpecError(`architecture ${JSON.stringify(name)}: '${pair}' is not one of ${OVERRIDABLE.join(', ')}=<integer>`);
    }
    overrides[key] = Number(value);
  }
  try {
    return unetSpec(preset, overrides);
  } catch (err) {
    throw new ModelSpecError(`architecture ${JSON.stringify(name)}: ${(err as Error).message}`);
  }
}

/** The inverse: the shortest name (preset plus fewest overrides) that stands for `spec`. */
export function architectureName(spec: UNetSpec): string {
  const names = Object.entries(PRESETS).map(([preset, base]) => {
    const overrides = OVERRIDABLE.filter((k) => spec[k] !== base[k]).map((k) => `${k}=${spec[k]}`);
    return overrides.length === 0 ? preset : `${preset}:${overrides.join(',')}`;
  });
  return names.sort((a, b) => a.length - b.length)[0]!;
}
