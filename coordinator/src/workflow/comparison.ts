import { STRUCTURES, type Structure } from '@lgefed/shared/types';
import type { CrossSiteMatrix, MatrixRow, ModelRef } from './evaluate.js';
import { pool, withInterval, type MetricWithInterval } from './statistics.js';

export interface SingleCentreEntry {
  readonly model: string;
  readonly home: string;
  /** Mean Dice on its own centre's test split (null: that centre did not evaluate). */
  readonly atHome: number | null;
  /** Pooled over the other centres' test cases: how it generalises. */
  readonly elsewhere: MetricWithInterval | null;
  readonly pooled: MetricWithInterval;
}

export interface MultiCentreEntry {
  readonly model: string;
  readonly trainedAt: readonly string[];
  readonly pooled: MetricWithInterval;
}

export interface SiteComparison {
  readonly site: string;
  /** The single-centre model trained at this site, scored at home. */
  readonly ownModel: { readonly model: string; readonly mean: number } | null;
  /** Every multi-centre model at this site, and its gain over the site's own model. */
  readonly multiCentre: readonly { readonly model: string; readonly mean: number; readonly gainOverOwn: number | null }[];
}

export interface StructureComparison {
  readonly singleCentre: readonly SingleCentreEntry[];
  readonly multiCentre: readonly MultiCentreEntry[];
  readonly perSite: readonly SiteComparison[];
}

export type CentreComparison = Record<Structure, StructureComparison>;

/**
 * Single-centre vs multi-centre, per structure, from a cross-site matrix: each single-centre model
 * at home and elsewhere, each multi-centre model pooled, and per site the multi-centre models'
 * gain over that site's own model. Null when no model says where it was trained.
 */
export function centreComparison(matrix: CrossSiteMatrix, models: readonly ModelRef[]): CentreComparison | null {
  const rowOf = new Map(matrix.rows.map((r) => [r.model, r]));
  const classified = models.filter((m) => m.trainedAt !== undefined && rowOf.has(m.label));
  if (classified.length === 0) return null;
  const single = classified.filter((m) => m.trainedAt!.length === 1);
  const multi = classified.filter((m) => m.trainedAt!.length > 1);
  const sites = [...new Set(matrix.rows.flatMap((r) => Object.keys(r.sites)))].sort();
  const meanAt = (row: MatrixRow, site: string, s: Structure) => row.sites[site]?.[s].mean ?? null;
  const perStructure = (s: Structure): StructureComparison => ({
    singleCentre: single.map((m) => {
      const row = rowOf.get(m.label)!;
      const home = m.trainedAt![0]!;
      const others = Object.entries(row.sites).filter(([site]) => site !== home).map(([, cells]) => cells[s]);
      return { model: m.label, home, atHome: meanAt(row, home, s), elsewhere: others.length > 0 ? withInterval(pool(others)) : null, pooled: row.pooled[s] };
    }),
    multiCentre: multi.map((m) => ({ model: m.label, trainedAt: m.trainedAt!, pooled: rowOf.get(m.label)!.pooled[s] })),
    perSite: sites.map((site) => {
      const own = single.find((m) => m.trainedAt![0] === site);
      const ownMean = own ? meanAt(rowOf.get(own.label)!, site, s) : null;
      return {
        site,
        ownModel: own && ownMean !== null ? { model: own.label, mean: ownMean } : null,
        multiCentre: multi.flatMap((m) => {
          const mean = meanAt(rowOf.get(m.label)!, site, s);
          return mean === null ? [] : [{ model: m.label, mean, gainOverOwn: ownMean === null ? null : mean - ownMean }];
        }),
      };
    }),
  });
  return Object.fromEntries(STRUCTURES.map((s) => [s, perStructure(s)])) as CentreComparison;
}
