/**
 * The figures of lgefed, as Vega-Lite spec builders over tidy rows. One module for every consumer:
 * the coordinator console renders these specs in the browser (vega-embed; this file is served to
 * the page as an ES module, so it has no runtime imports), `lgefed report` renders them to SVG,
 * and the experiment runner uses them for the paper's figures. Each figure's rows are also what
 * the report writes as CSV/JSON, so a plot and its numbers never disagree.
 */
import type { TopLevelSpec } from 'vega-lite';

export type FigureSpec = TopLevelSpec;

/** One cell of the cross-site matrix: a model (trained at one site, or several) scored at one test site. */
export interface DiceCellRow {
  readonly structure: string;
  /** The model's label (single-centre models are usually labelled by where they were trained). */
  readonly model: string;
  readonly testSite: string;
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
  readonly ciLow: number;
  readonly ciHigh: number;
}

/** One point of a learning curve: a metric of one series (a site, or the federation) at a step (round, epoch). */
export interface LearningPointRow {
  readonly series: string;
  readonly step: number;
  readonly metric: string;
  readonly value: number;
}

/** A site's distance to the reference intensity distribution (harmonisation check). */
export interface SiteDistanceRow {
  readonly site: string;
  readonly wasserstein1: number;
  readonly jensenShannon: number;
  readonly flagged: boolean;
}

/** One histogram bin of a site's (or the reference's) normalised intensities, as a fraction of its mass. */
export interface HistogramBinRow {
  readonly source: string;
  readonly intensity: number;
  readonly fraction: number;
}

/** One fine-tuning variant's pooled test Dice at one training-data fraction. */
export interface FinetunePointRow {
  readonly structure: string;
  /** `scratch`, or `k=<n>` encoder blocks trainable. */
  readonly variant: string;
  readonly dataFraction: number;
  readonly mean: number;
  readonly ciLow: number;
  readonly ciHigh: number;
}

/** A Table-5-style line: per data fraction and structure, scratch vs the best fine-tune. */
export interface FinetuneSummaryRow {
  readonly dataFraction: number;
  readonly structure: string;
  readonly scratch: number | null;
  readonly bestVariant: string | null;
  readonly best: number | null;
  readonly gainOverScratch: number | null;
}

/** Single- vs multi-centre: a model's mean Dice at a test site, and whether it is that site's own model. */
export interface CentreComparisonRow {
  readonly structure: string;
  readonly site: string;
  readonly model: string;
  readonly kind: 'own single-centre' | 'multi-centre';
  readonly mean: number;
  readonly gainOverOwn: number | null;
}

/** One case's Dice for one structure (the site review page). */
export interface CaseDiceRow {
  readonly caseId: string;
  readonly structure: string;
  readonly dice: number;
}

/** What a site holds, as the console shows it: cases with and without labels. */
/** Who took part in one federated round: a site that trained, or one that was left out. */
export interface ParticipationRow {
  readonly round: number;
  readonly site: string;
  readonly status: 'trained' | 'excluded';
}

export interface SiteCasesRow {
  readonly site: string;
  readonly cases: number;
  readonly labelled: boolean;
}

interface FigureBase {
  readonly id: string;
  readonly title: string;
  /** One sentence saying how to read it. */
  readonly caption: string;
}

export type FigureData =
  | (FigureBase & { readonly type: 'cross-site-dice'; readonly rows: readonly DiceCellRow[] })
  | (FigureBase & { readonly type: 'learning-curve'; readonly rows: readonly LearningPointRow[]; readonly stepTitle: string })
  | (FigureBase & { readonly type: 'harmonisation-distances'; readonly rows: readonly SiteDistanceRow[]; readonly flagWasserstein: number })
  | (FigureBase & { readonly type: 'intensity-histograms'; readonly rows: readonly HistogramBinRow[] })
  | (FigureBase & { readonly type: 'finetune-curves'; readonly rows: readonly FinetunePointRow[] })
  | (FigureBase & { readonly type: 'finetune-summary'; readonly rows: readonly FinetuneSummaryRow[] })
  | (FigureBase & { readonly type: 'centre-comparison'; readonly rows: readonly CentreComparisonRow[] })
  | (FigureBase & { readonly type: 'participation'; readonly rows: readonly ParticipationRow[] });

export type FigureType = FigureData['type'];

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const CONFIG = {
  font: FONT,
  view: { stroke: '#d0d7de' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eef1f4' },
  // Long legend titles and site names are shown whole, never cut to an ellipsis; swatches in the
  // series' full colour, not the opacity of a faint layer (a CI band) that shares the scale.
  legend: { labelFontSize: 11, titleFontSize: 12, titleLimit: 400, labelLimit: 300, symbolOpacity: 1 },
  header: { labelFontSize: 12, titleFontSize: 12, labelFontWeight: 'bold' as const },
  title: { fontSize: 14, anchor: 'start' as const },
};
const DICE_SCALE = { domain: [0, 1] };
const mutable = <T>(rows: readonly T[]) => rows as T[];

/** Tableau 10 without its grey, which is kept for series that are not a site. */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d'];
/** Series that are not a site: the reference and the federation as a whole. */
const FIXED_COLOURS: Readonly<Record<string, string>> = { reference: '#444444', 'all sites (case-weighted)': '#222222' };

/** Series name → colour. */
export type Colours = Readonly<Record<string, string>>;

/**
 * Every site of a federation its own colour, by its place among all the federation's site names,
 * so a site keeps its colour in every chart and report whichever other sites a chart shows.
 */
export function siteColours(siteNames: readonly string[]): Colours {
  const sorted = [...new Set(siteNames)].sort();
  return { ...Object.fromEntries(sorted.map((name, i) => [name, PALETTE[i % PALETTE.length]!])), ...FIXED_COLOURS };
}

/** A colour scale for these series: known ones in their colour, the others in palette order after them. */
function seriesScale(names: readonly string[], colours: Colours) {
  const domain = [...new Set(names)].sort();
  let spare = 0;
  return { domain, range: domain.map((name) => colours[name] ?? FIXED_COLOURS[name] ?? PALETTE[spare++ % PALETTE.length]!) };
}

/** Heat map of mean Dice, trained-at (rows) × tested-at (columns), one panel per structure, values printed in cells. */
export function crossSiteDiceSpec(rows: readonly DiceCellRow[], title = 'Cross-site Dice'): FigureSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    data: { values: mutable(rows) },
    facet: { column: { field: 'structure', type: 'nominal', title: null } },
    spec: {
      width: { step: 64 },
      height: { step: 40 },
      encoding: {
        x: { field: 'testSite', type: 'nominal', title: 'tested at', axis: { labelAngle: -30 } },
        y: { field: 'model', type: 'nominal', title: 'model' },
      },
      layer: [
        {
          mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
          encoding: {
            color: { field: 'mean', type: 'quantitative', title: 'mean Dice', scale: { ...DICE_SCALE, scheme: 'viridis' } },
            tooltip: [
              { field: 'model', title: 'model' },
              { field: 'testSite', title: 'test site' },
              { field: 'mean', format: '.3f', title: 'mean Dice' },
              { field: 'sd', format: '.3f' },
              { field: 'n', title: 'cases' },
              { field: 'ciLow', format: '.3f', title: '95% CI low' },
              { field: 'ciHigh', format: '.3f', title: '95% CI high' },
            ],
          },
        },
        {
          mark: { type: 'text', fontSize: 11 },
          encoding: {
            text: { field: 'mean', type: 'quantitative', format: '.2f' },
            color: { condition: { test: 'datum.mean > 0.6', value: 'black' }, value: 'white' },
          },
        },
      ],
    },
    resolve: { scale: { color: 'shared' } },
  } as FigureSpec;
}

/** Lines per series over steps (rounds or epochs), one panel per metric. */
export function learningCurveSpec(rows: readonly LearningPointRow[], stepTitle = 'round', title = 'Learning curves', colours: Colours = {}): FigureSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    data: { values: mutable(rows) },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 280,
      height: 180,
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: stepTitle, axis: { tickMinStep: 1, format: 'd' } },
        // Four significant digits: a one-point curve otherwise gets ticks such as 0.782227.
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false }, axis: { format: '.4~g' } },
        color: { field: 'series', type: 'nominal', title: null, scale: seriesScale(rows.map((r) => r.series), colours) },
        tooltip: [{ field: 'series' }, { field: 'step', title: stepTitle }, { field: 'metric' }, { field: 'value', format: '.4f' }],
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as FigureSpec;
}

/** Bars of each site's Wasserstein-1 distance to the reference, flagged sites in red, the flag threshold as a rule. */
export function harmonisationDistancesSpec(rows: readonly SiteDistanceRow[], flagWasserstein: number, title = 'Distance to the reference intensity distribution'): FigureSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    width: 360,
    height: { step: 28 },
    layer: [
      {
        data: { values: mutable(rows) },
        mark: { type: 'bar', cornerRadiusEnd: 2 },
        transform: [{ calculate: "datum.flagged ? 'needs harmonising' : 'close to the reference'", as: 'verdict' }],
        encoding: {
          y: { field: 'site', type: 'nominal', sort: '-x', title: null },
          x: { field: 'wasserstein1', type: 'quantitative', title: 'Wasserstein-1 (normalised intensity)' },
          color: {
            field: 'verdict',
            type: 'nominal',
            title: null,
            scale: { domain: ['close to the reference', 'needs harmonising'], range: ['#4c78a8', '#e45756'] },
          },
          tooltip: [{ field: 'site' }, { field: 'wasserstein1', format: '.4f', title: 'W1' }, { field: 'jensenShannon', format: '.4f', title: 'JS' }, { field: 'flagged' }],
        },
      },
      {
        data: { values: [{ threshold: flagWasserstein }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#444' },
        encoding: { x: { field: 'threshold', type: 'quantitative' } },
      },
    ],
  } as FigureSpec;
}

/** Each site's intensity histogram against the reference (dashed), as fraction of mass per bin. */
export function intensityHistogramsSpec(rows: readonly HistogramBinRow[], title = 'Normalised intensity histograms', referenceSource = 'reference', colours: Colours = {}): FigureSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    data: { values: mutable(rows) },
    width: 420,
    height: 220,
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.8 },
    encoding: {
      x: { field: 'intensity', type: 'quantitative', title: 'normalised intensity' },
      y: { field: 'fraction', type: 'quantitative', title: 'fraction of voxels' },
      color: { field: 'source', type: 'nominal', title: null, scale: seriesScale(rows.map((r) => r.source), colours) },
      strokeDash: { condition: { test: `datum.source === ${JSON.stringify(referenceSource)}`, value: [5, 3] }, value: [1, 0] },
      tooltip: [{ field: 'source' }, { field: 'intensity', format: '.3f' }, { field: 'fraction', format: '.4f' }],
    },
  } as FigureSpec;
}

/** Fine-tuning curves: pooled test Dice against the fraction of training data, one line per variant, 95 % CI band. */
export function finetuneCurvesSpec(rows: readonly FinetunePointRow[], title = 'Fine-tuning: Dice vs training data'): FigureSpec {
  const encoding = {
    x: { field: 'dataFraction', type: 'quantitative', title: 'fraction of training cases', axis: { format: '.0%' } },
    color: { field: 'variant', type: 'nominal', title: 'trainable encoder blocks' },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    data: { values: mutable(rows) },
    facet: { column: { field: 'structure', type: 'nominal', title: null } },
    spec: {
      width: 280,
      height: 200,
      layer: [
        { mark: { type: 'errorband', opacity: 0.15 }, encoding: { ...encoding, y: { field: 'ciLow', type: 'quantitative', title: 'mean Dice' }, y2: { field: 'ciHigh' } } },
        {
          mark: { type: 'line', point: true, strokeWidth: 2 },
          encoding: {
            ...encoding,
            y: { field: 'mean', type: 'quantitative', title: 'mean Dice', scale: { zero: false } },
            strokeDash: { condition: { test: "datum.variant === 'scratch'", value: [5, 3] }, value: [1, 0] },
            tooltip: [{ field: 'variant' }, { field: 'dataFraction', format: '.0%' }, { field: 'mean', format: '.3f' }, { field: 'ciLow', format: '.3f' }, { field: 'ciHigh', format: '.3f' }],
          },
        },
      ],
    },
  } as FigureSpec;
}

/** Table 5 as a chart: the best fine-tune's gain in Dice over training from scratch, per data fraction. */
export function finetuneSummarySpec(rows: readonly FinetuneSummaryRow[], title = 'Best fine-tune vs scratch'): FigureSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    data: { values: mutable(rows.filter((r) => r.gainOverScratch !== null)) },
    facet: { column: { field: 'structure', type: 'nominal', title: null } },
    spec: {
      width: 240,
      height: 180,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'dataFraction', type: 'ordinal', title: 'fraction of training cases', axis: { format: '.0%', labelAngle: 0 } },
            y: { field: 'gainOverScratch', type: 'quantitative', title: 'Dice gain over scratch' },
            color: { condition: { test: 'datum.gainOverScratch < 0', value: '#e45756' }, value: '#54a24b' },
            tooltip: [{ field: 'dataFraction', format: '.0%' }, { field: 'scratch', format: '.3f' }, { field: 'bestVariant' }, { field: 'best', format: '.3f' }, { field: 'gainOverScratch', format: '+.3f' }],
          },
        },
        { mark: { type: 'rule', color: '#444' }, encoding: { y: { datum: 0 } } },
      ],
    },
  } as FigureSpec;
}

/** Per test site: its own single-centre model against each multi-centre model, grouped bars, one panel per structure. */
export function centreComparisonSpec(rows: readonly CentreComparisonRow[], title = 'Single- vs multi-centre, per site'): FigureSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    data: { values: mutable(rows) },
    facet: { column: { field: 'structure', type: 'nominal', title: null } },
    spec: {
      width: { step: 22 },
      height: 200,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'site', type: 'nominal', title: 'test site', axis: { labelAngle: -30 } },
        xOffset: { field: 'kind', type: 'nominal' },
        y: { field: 'mean', type: 'quantitative', title: 'mean Dice', scale: DICE_SCALE },
        color: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['own single-centre', 'multi-centre'], range: ['#9ecae9', '#f58518'] } },
        tooltip: [{ field: 'site' }, { field: 'model' }, { field: 'mean', format: '.3f' }, { field: 'gainOverOwn', format: '+.3f', title: 'gain over own model' }],
      },
    },
  } as FigureSpec;
}

/** Stacked bars of each site's cases, labelled and unlabelled (counts only, as sites report them); null title: the page titles it. */
export function siteCasesSpec(rows: readonly SiteCasesRow[], title: string | null = 'Cases per site'): FigureSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(title === null ? {} : { title }),
    config: CONFIG,
    data: { values: mutable(rows) },
    // Legend below, so the chart fits the narrowest site card.
    width: 220,
    height: { step: 26 },
    mark: { type: 'bar' },
    transform: [{ calculate: "datum.labelled ? 'labelled' : 'unlabelled'", as: 'cases of' }],
    encoding: {
      y: { field: 'site', type: 'nominal', title: null },
      x: { field: 'cases', type: 'quantitative', title: 'cases', stack: 'zero', axis: { tickMinStep: 1, format: 'd' } },
      color: { field: 'cases of', type: 'nominal', title: null, scale: { domain: ['labelled', 'unlabelled'], range: ['#4c78a8', '#bab0ac'] }, legend: { orient: 'bottom' } },
      tooltip: [{ field: 'site' }, { field: 'cases of' }, { field: 'cases' }],
    },
  } as FigureSpec;
}

/** Which sites trained in each federated round (filled) and which were left out (red outline). */
export function participationSpec(rows: readonly ParticipationRow[], title = 'Participation per round'): FigureSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    data: { values: mutable(rows) },
    width: { step: 36 },
    height: { step: 26 },
    mark: { type: 'square', size: 260, filled: true },
    encoding: {
      x: { field: 'round', type: 'ordinal', title: 'federated round', axis: { labelAngle: 0 } },
      y: { field: 'site', type: 'nominal', title: null },
      color: { field: 'status', type: 'nominal', title: null, scale: { domain: ['trained', 'excluded'], range: ['#54a24b', '#e45756'] }, legend: { orient: 'bottom' } },
      tooltip: [{ field: 'round' }, { field: 'site' }, { field: 'status' }],
    },
  } as FigureSpec;
}

/** Per-case Dice at a site, one bar per structure: which cases the model gets wrong. */
export function caseDiceSpec(rows: readonly CaseDiceRow[], title = 'Dice per case'): FigureSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    data: { values: mutable(rows) },
    width: 260,
    height: { step: 12 },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'caseId', type: 'nominal', title: null, sort: 'ascending' },
      yOffset: { field: 'structure', type: 'nominal' },
      x: { field: 'dice', type: 'quantitative', title: 'Dice', scale: DICE_SCALE },
      color: { field: 'structure', type: 'nominal', title: null, scale: { range: ['#e45756', '#f2cf5b'] }, legend: { orient: 'bottom' } },
      tooltip: [{ field: 'caseId', title: 'case' }, { field: 'structure' }, { field: 'dice', format: '.3f' }],
    },
  } as FigureSpec;
}

/** The chart of any figure, by its type; without its title where the page prints the title itself; sites in `colours`. */
export function figureSpec(figure: FigureData, options: { readonly withTitle?: boolean; readonly colours?: Colours } = {}): FigureSpec {
  const spec = chartOf(figure, options.colours ?? {});
  if (options.withTitle === false) delete (spec as { title?: unknown }).title;
  return spec;
}

function chartOf(figure: FigureData, colours: Colours): FigureSpec {
  switch (figure.type) {
    case 'cross-site-dice':
      return crossSiteDiceSpec(figure.rows, figure.title);
    case 'learning-curve':
      return learningCurveSpec(figure.rows, figure.stepTitle, figure.title, colours);
    case 'harmonisation-distances':
      return harmonisationDistancesSpec(figure.rows, figure.flagWasserstein, figure.title);
    case 'intensity-histograms':
      return intensityHistogramsSpec(figure.rows, figure.title, 'reference', colours);
    case 'finetune-curves':
      return finetuneCurvesSpec(figure.rows, figure.title);
    case 'finetune-summary':
      return finetuneSummarySpec(figure.rows, figure.title);
    case 'centre-comparison':
      return centreComparisonSpec(figure.rows, figure.title);
    case 'participation':
      return participationSpec(figure.rows, figure.title);
  }
}

/** A figure's rows as CSV (header from the first row's keys; RFC 4180 quoting). */
export function figureCsv(figure: FigureData): string {
  const rows = figure.rows as unknown as readonly Readonly<Record<string, unknown>>[];
  if (rows.length === 0) return '';
  const columns = Object.keys(rows[0]!);
  const cell = (v: unknown): string => {
    const text = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}
