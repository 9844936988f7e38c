/**
 * Vega-Lite specs shaped like the study's figures, rendered headlessly to SVG and PNG by the plots
 * module. Every chart plots Dice mean ± sd over a site's fixed test cases, one panel per structure.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderPng, renderSvg, type VegaLiteSpec } from '../plots/render.js';
import type { DiceRow } from './arms.js';

const DICE = { field: 'mean', type: 'quantitative', title: 'Dice (mean ± sd)', scale: { domain: [0, 1] } } as const;
/** Legends show each arm's whole name ("augmentation · FedAvg"), never an ellipsis. */
const legend = (field: string) => ({ field, type: 'nominal', legend: { labelLimit: 0 } }) as const;
const ERROR_BOUNDS = [
  { calculate: 'max(0, datum.mean - datum.sd)', as: 'low' },
  { calculate: 'min(1, datum.mean + datum.sd)', as: 'high' },
];

/** Dice panels per structure (and per `row` when given), with mean ± sd bounds, around `layer`. */
function dicePanels(rows: readonly DiceRow[], title: string, row: string | undefined, layer: unknown[]): VegaLiteSpec {
  return {
    title,
    data: { values: rows as unknown as Record<string, unknown>[] },
    transform: ERROR_BOUNDS,
    facet: { column: { field: 'structure', type: 'nominal', title: null }, ...(row ? { row: { field: row, type: 'nominal' } } : {}) },
    spec: { width: 220, height: 160, layer },
  } as VegaLiteSpec;
}

/** Bars along `x`, one bar per `group` value side by side, each with its mean ± sd rule. */
function barLayers(x: { readonly field: string; readonly title: string | null; readonly sort?: readonly string[] }, group: string): unknown[] {
  const xEncoding = { field: x.field, type: 'nominal', ...(x.sort ? { sort: x.sort } : {}) };
  return [
    { mark: 'bar', encoding: { x: { ...xEncoding, title: x.title }, xOffset: { field: group, type: 'nominal' }, y: DICE, color: legend(group) } },
    { mark: { type: 'rule', color: 'black' }, encoding: { x: xEncoding, xOffset: { field: group, type: 'nominal' }, y: { field: 'low', type: 'quantitative', title: null }, y2: { field: 'high' } } },
  ];
}

/** Grouped bars: x = test site, one bar per `group` value, panels per structure (and `row` when given). */
export function groupedBars(rows: readonly DiceRow[], group: string, title: string, row?: string): VegaLiteSpec {
  return dicePanels(rows, title, row, barLayers({ field: 'testSite', title: 'test site' }, group));
}

/** Lines with points: x = a numeric factor, one line per `series`, panels per structure (rows per `row`). */
export function lines(rows: readonly DiceRow[], x: { field: string; title: string }, series: string, title: string, row?: string): VegaLiteSpec {
  return dicePanels(rows, title, row, [
    {
      mark: { type: 'line', point: true },
      encoding: { x: { field: x.field, type: 'quantitative', title: x.title, axis: { tickMinStep: 1, format: 'd' } }, y: DICE, color: legend(series) },
    },
    { mark: 'errorbar', encoding: { x: { field: x.field, type: 'quantitative' }, y: { field: 'low', type: 'quantitative', title: null }, y2: { field: 'high' }, color: legend(series) } },
  ]);
}

/** Bars per arm (x, in `order`), one bar per `group` value, panels per structure: arms that are not sites. */
export function armBars(rows: readonly Record<string, unknown>[], order: readonly string[], group: string, title: string): VegaLiteSpec {
  return dicePanels(rows as unknown as DiceRow[], title, undefined, barLayers({ field: 'arm', title: null, sort: order }, group));
}

/** Writes `<name>.svg` and `<name>.png`; returns the file names. */
export async function writeFigure(directory: string, name: string, spec: VegaLiteSpec): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  const svg = `${name}.svg`;
  const png = `${name}.png`;
  await writeFile(join(directory, svg), await renderSvg(spec));
  await writeFile(join(directory, png), await renderPng(spec));
  return [svg, png];
}
