import type { AggregateMetrics, EvaluationResult, FineTuneResult, HarmonisationReport, TaskAssignment, TrainResult } from '@lgefed/protocol';
import { AGGREGATE_STATISTICS, type AggregateStatistic, type LocalPolicy } from './config.js';
import { architectureHash, resolveArchitecture } from './architecture.js';
import { readAssignment, selectedCaseCount, type SiteTask } from './assignment.js';
import { PolicyRefusal } from './errors.js';
import { PATIENT_SENSITIVITY } from './privacy/histogram-release.js';
import type { RegisteredDataset } from './datasets.js';

/** Checks an assignment against local policy before anything runs and reads it; throws PolicyRefusal. */
export function admitAssignment(policy: LocalPolicy, assignment: TaskAssignment, dataset: RegisteredDataset): SiteTask {
  const task = readAssignment(assignment);
  const { kind } = task;
  if (!policy.allowedTaskKinds.includes(kind)) throw new PolicyRefusal('policy_task_kind', `local policy does not allow ${kind} tasks (allowed: ${policy.allowedTaskKinds.join(', ') || 'none'})`);
  if (task.kind === 'train') {
    if (!policy.weightsMayLeave) throw new PolicyRefusal('policy_weights_stay', 'local policy keeps trained weights at the site');
    // As the worker will select them (selectCases): refused before any training when too few.
    checkWeightsCases(policy, selectedCaseCount(task.training, dataset.split.train.length));
  }
  if ((kind === 'evaluate' || kind === 'finetune') && dataset.split.test.length < policy.minCasesForMetrics) {
    throw new PolicyRefusal('policy_min_cases', `the test split has ${dataset.split.test.length} case(s); local policy releases metrics over at least ${policy.minCasesForMetrics}`);
  }
  if (task.kind === 'harmonisation-check') {
    if (task.epsilon > policy.maxHistogramEpsilon) {
      throw new PolicyRefusal('policy_epsilon', `the task asks for ε = ${task.epsilon}; local policy spends at most ε = ${policy.maxHistogramEpsilon} on a histogram`);
    }
    return task; // no network is involved
  }
  const spec = resolveArchitecture(assignment.model.architecture.name);
  if (policy.pinArchitectures && !policy.approvedArchitectures.includes(architectureHash(spec))) {
    throw new PolicyRefusal('policy_architecture_not_approved', `architecture ${assignment.model.architecture.name} (${architectureHash(spec)}) is not in the site's approved list`);
  }
  return task;
}

/** Weights leave only when trained on at least `minCasesForWeights` cases. */
export function checkWeightsCases(policy: LocalPolicy, cases: number): void {
  if (!(cases >= policy.minCasesForWeights)) throw new PolicyRefusal('policy_min_cases', `weights trained on ${cases} case(s) stay at the site; local policy lets weights leave only when trained on at least ${policy.minCasesForWeights}`);
}

/** Only the statistics the policy names; the others are left at the wire's default (absent). */
function namedStatistics(policy: LocalPolicy, aggregates: readonly AggregateMetrics[]): AggregateMetrics[] {
  const withheld = Object.entries(AGGREGATE_STATISTICS).filter(([name]) => !policy.aggregateStatistics.includes(name as AggregateStatistic));
  return aggregates.map((a) => ({ ...a, ...Object.fromEntries(withheld.map(([, field]) => [field, 0])) }));
}

function checkMetricCases(policy: LocalPolicy, aggregates: readonly AggregateMetrics[]): void {
  const fewest = Math.min(...aggregates.map((a) => a.caseCount));
  if (!(fewest >= policy.minCasesForMetrics)) throw new PolicyRefusal('policy_min_cases', `metrics over ${fewest} case(s) are below the site's minimum of ${policy.minCasesForMetrics}`);
}

/**
 * The outbound filter: every message passes here before it is signed and sent, whatever code
 * produced it. Weights leave only when policy allows (a TrainResult over too few cases is refused;
 * the agent checks the count before it uploads the weights themselves); metrics carry only the
 * statistics the policy names, and per-case scores only when it allows them; no metrics summarise
 * fewer cases than the minimum; no histogram
 * leaves with a larger ε than the cap or under another mechanism than the site's own.
 */
export function filterOutbound<T>(policy: LocalPolicy, type: string, message: T): T {
  if ((type === 'ModelManifest' || type === 'TrainResult' || type === 'chunk') && !policy.weightsMayLeave) {
    throw new PolicyRefusal('policy_weights_stay', `local policy keeps weights at the site (blocked an outbound ${type})`);
  }
  if (type === 'TrainResult') checkWeightsCases(policy, (message as TrainResult).sampleCount);
  if (type === 'EvaluationResult') {
    const result = message as EvaluationResult;
    checkMetricCases(policy, result.aggregates);
    return { ...result, aggregates: namedStatistics(policy, result.aggregates), cases: policy.metrics === 'aggregate' ? [] : result.cases } as T;
  }
  if (type === 'FineTuneResult') {
    const result = message as FineTuneResult;
    checkMetricCases(policy, result.aggregates);
    return { ...result, aggregates: namedStatistics(policy, result.aggregates) } as T;
  }
  if (type === 'HarmonisationReport') {
    const { privacy } = message as HarmonisationReport;
    if (!(privacy.epsilon > 0 && privacy.epsilon <= policy.maxHistogramEpsilon)) {
      throw new PolicyRefusal('policy_epsilon', `a histogram released with ε = ${privacy.epsilon} exceeds the site's ε cap of ${policy.maxHistogramEpsilon}`);
    }
    if (privacy.mechanism !== 'discrete-laplace' || privacy.sensitivity !== PATIENT_SENSITIVITY) {
      throw new PolicyRefusal('policy_epsilon', `only histograms under the site's own mechanism leave (discrete Laplace, sensitivity ${PATIENT_SENSITIVITY} per patient; got ${privacy.mechanism}, ${privacy.sensitivity})`);
    }
  }
  return message;
}
