import type { EvaluationResult, TaskAssignment } from '@lgefed/protocol';
import type { LocalPolicy } from './config.js';
import { architectureHash, resolveArchitecture } from './architecture.js';
import { PolicyRefusal } from './errors.js';
import type { RegisteredDataset } from './datasets.js';

const KIND_NAMES: Readonly<Record<string, 'train' | 'evaluate'>> = { TASK_KIND_TRAIN: 'train', TASK_KIND_EVALUATE: 'evaluate' };

/** Checks an assignment against local policy before anything runs; throws PolicyRefusal. */
export function admitAssignment(policy: LocalPolicy, assignment: TaskAssignment, dataset: RegisteredDataset): 'train' | 'evaluate' {
  const kind = KIND_NAMES[assignment.kind];
  if (!kind) throw new PolicyRefusal('unsupported_task', `this agent does not run ${assignment.kind} tasks`);
  if (!policy.allowedTaskKinds.includes(kind)) throw new PolicyRefusal('policy_task_kind', `local policy does not allow ${kind} tasks (allowed: ${policy.allowedTaskKinds.join(', ') || 'none'})`);
  if (kind === 'train' && !policy.weightsMayLeave) throw new PolicyRefusal('policy_weights_stay', 'local policy keeps trained weights at the site');
  if (kind === 'evaluate' && dataset.split.test.length < policy.minCasesForMetrics) {
    throw new PolicyRefusal('policy_min_cases', `the test split has ${dataset.split.test.length} case(s); local policy releases metrics over at least ${policy.minCasesForMetrics}`);
  }
  const spec = resolveArchitecture(assignment.model.architecture.name);
  if (policy.pinArchitectures && !policy.approvedArchitectures.includes(architectureHash(spec))) {
    throw new PolicyRefusal('policy_architecture_not_approved', `architecture ${assignment.model.architecture.name} (${architectureHash(spec)}) is not in the site's approved list`);
  }
  return kind;
}

/**
 * The outbound filter: every message passes here before it is signed and sent, whatever code
 * produced it. Weights leave only when policy allows; evaluation results lose per-case scores
 * unless policy allows them and never summarise fewer cases than the minimum.
 */
export function filterOutbound<T>(policy: LocalPolicy, type: string, message: T): T {
  if ((type === 'ModelManifest' || type === 'TrainResult' || type === 'chunk') && !policy.weightsMayLeave) {
    throw new PolicyRefusal('policy_weights_stay', `local policy keeps weights at the site (blocked an outbound ${type})`);
  }
  if (type === 'EvaluationResult') {
    const result = message as EvaluationResult;
    const fewest = Math.min(...result.aggregates.map((a) => a.caseCount));
    if (!(fewest >= policy.minCasesForMetrics)) throw new PolicyRefusal('policy_min_cases', `metrics over ${fewest} case(s) are below the site's minimum of ${policy.minCasesForMetrics}`);
    if (policy.metrics === 'aggregate' && result.cases.length > 0) return { ...result, cases: [] } as T;
  }
  return message;
}
