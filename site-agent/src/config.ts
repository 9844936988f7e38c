import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LAYOUTS, type Layout } from '@lgefed/shared/imaging/layouts';
import { SITE_TASK_KINDS, type SiteTaskKind } from './assignment.js';
import { AgentError } from './errors.js';

/** Local policy: owned by the site admin, enforced by the agent on what it runs and what leaves. */
export interface LocalPolicy {
  /** Task kinds this site runs (default: all of train, evaluate, finetune, harmonisation-check). */
  readonly allowedTaskKinds: readonly SiteTaskKind[];
  /** Whether trained weights may leave the site (default true); false refuses training tasks. */
  readonly weightsMayLeave: boolean;
  /** Fewest cases trained weights may rest on before they leave (default 3): a model of one patient can reveal that patient. */
  readonly minCasesForWeights: number;
  /** `aggregate`: only the `aggregateStatistics` leave (default); `per-case`: per-case scores under a pseudonym too. */
  readonly metrics: 'aggregate' | 'per-case';
  /**
   * Which statistics of a metric leave (default n, mean, sd of Dice; `n` always): with few cases,
   * n, mean, sd and median together pin down every case's score.
   */
  readonly aggregateStatistics: readonly AggregateStatistic[];
  /** Fewest cases any released metric may summarise (default 5). */
  readonly minCasesForMetrics: number;
  /** Largest ε this site spends on a DP histogram (default 1); a harmonisation check asking for more is refused. */
  readonly maxHistogramEpsilon: number;
  /** Total ε this site ever spends on histograms (default 3), kept in `<stateDir>/privacy-ledger.json`; a release beyond it is refused. */
  readonly privacyBudgetEpsilon: number;
  /** Pinning on by default: only networks whose spec hash is listed here may run. */
  readonly pinArchitectures: boolean;
  readonly approvedArchitectures: readonly string[];
}

/** Policy names of the statistics in an AggregateMetrics message, and the field each one is. */
export const AGGREGATE_STATISTICS = {
  n: 'caseCount',
  mean: 'meanDice',
  sd: 'stdDice',
  median: 'medianDice',
  hd95Mean: 'meanHd95Mm',
  hd95Median: 'medianHd95Mm',
  volumeErrorMean: 'meanAbsVolumeErrorMl',
} as const;
export type AggregateStatistic = keyof typeof AGGREGATE_STATISTICS;

export interface DatasetConfig {
  readonly name: string;
  readonly path: string;
  readonly layout: Layout | 'auto';
  /** The most bytes one image file may decode to (default 1 GiB): a larger one is skipped as a problem, never inflated. */
  readonly maxDecodedBytes?: number;
}

export interface SiteConfig {
  /** Where the agent keeps its key, enrolment, split and audit log (created 0700). */
  readonly stateDir: string;
  readonly datasets: readonly DatasetConfig[];
  /** Fractions of cases held out, by case, with a fixed seed. */
  readonly split: { readonly seed: number; readonly validation: number; readonly test: number };
  readonly policy: LocalPolicy;
  /** Forced ML backend for tasks (`cpu`, `wasm`, …); absent = automatic. */
  readonly backend?: string;
}

const DEFAULT_POLICY: LocalPolicy = {
  allowedTaskKinds: SITE_TASK_KINDS,
  weightsMayLeave: true,
  minCasesForWeights: 3,
  metrics: 'aggregate',
  aggregateStatistics: ['n', 'mean', 'sd'],
  minCasesForMetrics: 5,
  maxHistogramEpsilon: 1,
  privacyBudgetEpsilon: 3,
  pinArchitectures: true,
  approvedArchitectures: [],
};

const bad = (file: string, why: string) => new AgentError('config_invalid', `${file}: ${why}`);

function fraction(value: unknown, field: string, file: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw bad(file, `${field} must be a number in [0, 1)`);
  return value;
}

/** Reads and validates site.json; relative paths are relative to the file. */
export async function loadSiteConfig(file: string): Promise<SiteConfig> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw bad(file, `cannot read (${(err as Error).message})`);
  }
  return parseSiteConfig(raw, file);
}

export function parseSiteConfig(raw: Record<string, unknown>, file: string): SiteConfig {
  if (typeof raw !== 'object' || raw === null) throw bad(file, 'must hold a JSON object');
  const base = dirname(resolve(file));
  if (typeof raw['stateDir'] !== 'string') throw bad(file, 'stateDir is required');
  if (!Array.isArray(raw['datasets']) || raw['datasets'].length === 0) throw bad(file, 'datasets must list at least one {name, path}');
  const datasets = raw['datasets'].map((d: unknown, i: number): DatasetConfig => {
    const o = (d ?? {}) as Record<string, unknown>;
    if (typeof o['name'] !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(o['name'])) throw bad(file, `datasets[${i}].name must be a short identifier`);
    if (typeof o['path'] !== 'string') throw bad(file, `datasets[${i}].path is required`);
    const layout = o['layout'] ?? 'auto';
    if (layout !== 'auto' && !(LAYOUTS as readonly unknown[]).includes(layout)) throw bad(file, `datasets[${i}].layout must be auto or one of ${LAYOUTS.join(', ')}`);
    const maxDecodedBytes = o['maxDecodedBytes'];
    if (maxDecodedBytes !== undefined && !(Number.isSafeInteger(maxDecodedBytes) && (maxDecodedBytes as number) > 0)) throw bad(file, `datasets[${i}].maxDecodedBytes must be a positive whole number of bytes`);
    return { name: o['name'], path: resolve(base, o['path']), layout: layout as Layout | 'auto', ...(maxDecodedBytes !== undefined ? { maxDecodedBytes: maxDecodedBytes as number } : {}) };
  });
  if (new Set(datasets.map((d) => d.name)).size !== datasets.length) throw bad(file, 'dataset names must be unique');
  const s = (raw['split'] ?? {}) as Record<string, unknown>;
  const split = { seed: Number.isInteger(s['seed']) ? (s['seed'] as number) : 0, validation: fraction(s['validation'] ?? 0.2, 'split.validation', file), test: fraction(s['test'] ?? 0.2, 'split.test', file) };
  if (split.validation + split.test >= 1) throw bad(file, 'split.validation + split.test must leave cases to train on');
  return { stateDir: resolve(base, raw['stateDir']), datasets, split, policy: parsePolicy(raw['policy'] ?? {}, file), ...(typeof raw['backend'] === 'string' ? { backend: raw['backend'] } : {}) };
}

function parsePolicy(value: unknown, file: string): LocalPolicy {
  const p = value as Record<string, unknown>;
  const known = new Set(Object.keys(DEFAULT_POLICY));
  for (const key of Object.keys(p)) if (!known.has(key)) throw bad(file, `policy.${key} is not a policy setting (${[...known].join(', ')})`);
  const policy = { ...DEFAULT_POLICY, ...p } as LocalPolicy;
  if (!Array.isArray(policy.allowedTaskKinds) || policy.allowedTaskKinds.some((k) => !(SITE_TASK_KINDS as readonly unknown[]).includes(k))) {
    throw bad(file, `policy.allowedTaskKinds lists some of ${SITE_TASK_KINDS.join(', ')}`);
  }
  if (typeof policy.weightsMayLeave !== 'boolean' || typeof policy.pinArchitectures !== 'boolean') throw bad(file, 'policy.weightsMayLeave and policy.pinArchitectures are booleans');
  if (policy.metrics !== 'aggregate' && policy.metrics !== 'per-case') throw bad(file, 'policy.metrics is aggregate or per-case');
  const statistics = Object.keys(AGGREGATE_STATISTICS);
  if (!Array.isArray(policy.aggregateStatistics) || !policy.aggregateStatistics.includes('n') || policy.aggregateStatistics.some((s) => !statistics.includes(s))) {
    throw bad(file, `policy.aggregateStatistics lists n and any of ${statistics.join(', ')}`);
  }
  for (const key of ['minCasesForMetrics', 'minCasesForWeights'] as const) {
    if (!Number.isInteger(policy[key]) || policy[key] < 1) throw bad(file, `policy.${key} must be an integer ≥ 1`);
  }
  if (!(policy.maxHistogramEpsilon > 0)) throw bad(file, 'policy.maxHistogramEpsilon must be positive');
  if (!(policy.privacyBudgetEpsilon > 0 && Number.isFinite(policy.privacyBudgetEpsilon))) throw bad(file, 'policy.privacyBudgetEpsilon must be a positive number');
  if (!Array.isArray(policy.approvedArchitectures) || policy.approvedArchitectures.some((h) => typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h))) {
    throw bad(file, 'policy.approvedArchitectures lists sha256 hashes (lgefed site arch-hash NAME prints one)');
  }
  return policy;
}
