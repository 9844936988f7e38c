import type { Spacing } from '../types.js';
import { loadDataset, type DataProblem, type LoadOptions } from './dataset.js';
import type { Layout } from './layouts.js';

export interface CaseSummary {
  readonly id: string;
  readonly dims: readonly number[];
  readonly spacing: readonly number[];
  readonly labelled: boolean;
  readonly labelValues: readonly number[];
  readonly unknownLabelValues: readonly number[];
  readonly intensity: { readonly min: number; readonly max: number; readonly mean: number; readonly p1: number; readonly p99: number };
  readonly spacingAssumed: boolean;
}

/** What `lgefed data check` reports: enough for a site admin to fix the data before joining a study. */
export interface DatasetReport {
  readonly root: string;
  readonly layout: Layout;
  readonly cases: number;
  readonly labelledCases: number;
  readonly slices: number;
  readonly shapes: Record<string, number>;
  readonly spacing: { readonly min: Spacing; readonly max: Spacing } | null;
  readonly labelValues: readonly number[];
  readonly unknownLabelValues: readonly number[];
  readonly perCase: CaseSummary[];
  readonly problems: DataProblem[];
  /** False when nothing usable remains (the command then exits non-zero). */
  readonly usable: boolean;
}

function intensityStats(data: Float32Array): CaseSummary['intensity'] {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  // Percentiles from a strided sample: exact enough for a report, cheap on large volumes.
  const step = Math.max(1, Math.floor(data.length / 20000));
  const sample: number[] = [];
  for (let i = 0; i < data.length; i += step) sample.push(data[i]!);
  sample.sort((a, b) => a - b);
  const at = (q: number) => sample[Math.min(sample.length - 1, Math.floor(q * sample.length))]!;
  return { min, max, mean: sum / data.length, p1: at(0.01), p99: at(0.99) };
}

/** Loads (read-only) and summarises a dataset; bad files are listed, never fatal. */
export async function checkDataset(root: string, options: LoadOptions = {}): Promise<DatasetReport> {
  const ds = await loadDataset(root, options);
  const perCase: CaseSummary[] = ds.cases.map((c) => ({
    id: c.id,
    dims: c.image.dims,
    spacing: c.image.spacing,
    labelled: c.label !== undefined,
    labelValues: c.labelValues ?? [],
    unknownLabelValues: c.unknownLabelValues ?? [],
    intensity: intensityStats(c.image.data),
    spacingAssumed: c.spacingAssumed ?? false,
  }));
  const shapes: Record<string, number> = {};
  for (const c of perCase) {
    const key = c.dims.join('x');
    shapes[key] = (shapes[key] ?? 0) + 1;
  }
  const union = (f: (c: CaseSummary) => readonly number[]) => [...new Set(perCase.flatMap(f))].sort((a, b) => a - b);
  const axis = (pick: (a: number, b: number) => number, i: number) => perCase.map((c) => c.spacing[i]!).reduce(pick);
  return {
    root: ds.root,
    layout: ds.layout,
    cases: perCase.length,
    labelledCases: perCase.filter((c) => c.labelled).length,
    slices: perCase.reduce((n, c) => n + c.dims[2]!, 0),
    shapes,
    spacing: perCase.length ? { min: [0, 1, 2].map((i) => axis((a, b) => Math.min(a, b), i)) as unknown as Spacing, max: [0, 1, 2].map((i) => axis((a, b) => Math.max(a, b), i)) as unknown as Spacing } : null,
    labelValues: union((c) => c.labelValues),
    unknownLabelValues: union((c) => c.unknownLabelValues),
    perCase,
    problems: ds.problems,
    usable: perCase.length > 0,
  };
}
