import { architectureFromName } from '@lgefed/shared/model/architecture-name';
import { canonicalJson } from '@lgefed/shared/model/io';
import type { UNetSpec } from '@lgefed/shared/model/spec';
import { createHash } from 'node:crypto';
import { AgentError } from './errors.js';

/** The network a task's architecture name stands for (see architectureFromName), as the agent's typed error. */
export function resolveArchitecture(name: string): UNetSpec {
  try {
    return architectureFromName(name);
  } catch (err) {
    throw new AgentError('architecture_invalid', (err as Error).message);
  }
}

/** What a site admin pins in `approvedArchitectures`: sha256 of the network's canonical spec. */
export function architectureHash(spec: UNetSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}
