import assert from 'node:assert/strict';
import {
  crossSiteDiceSpec,
  figureCsv,
  figureSpec,
  finetuneCurvesSpec,
  siteCasesSpec,
  siteColours,
  type DiceCellRow,
  type FigureData,
} from '@lgefed/shared/plots/figures';
import { renderSvg } from '@lgefed/shared/plots/render';

const STRUCTURES = ['bloodpool', 'myocardium'];
const SITES = ['north', 'south'];
const dice: DiceCellRow[] = STRUCTURES.flatMap((structure, s) =>
  ['local:north', 'federated'].flatMap((model, m) => SITES.map((testSite, t) => ({ structure, model, testSite, mean: 0.5 + 0.1 * s + 0.2 * m + 0.05 * t, sd: 0.1, n: 3, ciLow: 0.3, ciHigh: 0.9 }))),
);

/** One figure of every type, as the coordinator's report module produces them. */
const FIGURES: FigureData[] = [
  { type: 'cross-site-dice', id: 'dice', title: 'Cross-site Dice', caption: '', rows: dice },
  { type: 'learning-curve', id: 'lc', title: 'Learning curves', caption: '', stepTitle: 'federated round', rows: SITES.flatMap((series) => [1, 2, 3].map((step) => ({ series, step, metric: 'loss', value: 1 / step }))) },
  { type: 'harmonisation-distances', id: 'hd', title: 'Distances', caption: '', flagWasserstein: 0.05, rows: [{ site: 'north', wasserstein1: 0.02, jensenShannon: 0.01, flagged: false }, { site: 'south', wasserstein1: 0.09, jensenShannon: 0.04, flagged: true }] },
  { type: 'intensity-histograms', id: 'ih', title: 'Histograms', caption: '', rows: ['reference', ...SITES].flatMap((source) => Array.from({ length: 8 }, (_, i) => ({ source, intensity: i / 8, fraction: 1 / 8 }))) },
  { type: 'finetune-curves', id: 'fc', title: 'Fine-tuning', caption: '', rows: STRUCTURES.flatMap((structure) => ['scratch', 'k=2'].flatMap((variant) => [0.25, 1].map((dataFraction) => ({ structure, variant, dataFraction, mean: 0.6, ciLow: 0.5, ciHigh: 0.7 })))) },
  { type: 'finetune-summary', id: 'fs', title: 'Table 5', caption: '', rows: [{ dataFraction: 0.25, structure: 'myocardium', scratch: 0.5, bestVariant: 'k=2', best: 0.62, gainOverScratch: 0.12 }] },
  { type: 'participation', id: 'pa', title: 'Participation', caption: '', rows: [{ round: 1, site: 'north', status: 'trained' }, { round: 1, site: 'south', status: 'excluded' }, { round: 2, site: 'south', status: 'trained' }] },
  { type: 'centre-comparison', id: 'cc', title: 'Single vs multi', caption: '', rows: SITES.flatMap((site) => [{ structure: 'bloodpool', site, model: `local:${site}`, kind: 'own single-centre' as const, mean: 0.7, gainOverOwn: null }, { structure: 'bloodpool', site, model: 'federated', kind: 'multi-centre' as const, mean: 0.8, gainOverOwn: 0.1 }]) },
];

describe('figure spec builders (shared/plots/figures)', () => {
  for (const figure of FIGURES) {
    it(`renders the ${figure.type} figure with its title and data`, async () => {
      const svg = await renderSvg(figureSpec(figure));
      assert.match(svg, /^<svg/);
      assert.ok(svg.includes(figure.title), `title ${figure.title} missing`);
      const names = figure.type === 'harmonisation-distances' || figure.type === 'centre-comparison' || figure.type === 'participation' ? SITES : figure.type === 'finetune-summary' ? ['25%'] : [];
      for (const name of names) assert.ok(svg.includes(name), `${name} missing from ${figure.type}`);
    });
  }

  it('draws one heat-map cell per model × test site × structure, with its value printed', async () => {
    const svg = await renderSvg(crossSiteDiceSpec(dice));
    const marks = /<g class="mark-rect role-mark[^"]*"[^>]*>(.*?)<\/g>/gs;
    const cells = [...svg.matchAll(marks)].reduce((n, m) => n + (m[1]!.match(/<path/g)?.length ?? 0), 0);
    assert.equal(cells, 8);
    assert.ok(svg.includes('>0.85<'), 'the best cell value (0.5 + 0.1 + 0.2 + 0.05) is printed');
  });

  const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
  const fills = (svg: string, role: string) => [...svg.matchAll(new RegExp(`class="mark-[a-z]+ ${role}"[^>]*>(.*?)</g>`, 'gs'))].flatMap((m) => [...m[1]!.matchAll(/(?:fill|stroke)="(#[0-9a-f]{6})"[^>]*?opacity="([\d.]+)"/g)].map((x) => `${x[1]} ${x[2]}`));

  it('tidies ticks and legends: whole percentages, legend swatches in the series colour, integer case counts, no "false" entry', async () => {
    const fine = await renderSvg(finetuneCurvesSpec(FIGURES.find((f) => f.type === 'finetune-curves')!.rows as never));
    assert.ok(texts(fine).includes('50%') && !texts(fine).some((t) => /\.\d+%/.test(t)), texts(fine).join('|'));
    const swatches = fills(fine, 'role-legend-symbol');
    assert.ok(swatches.length === 2 && swatches.every((f) => f.endsWith(' 1')), `legend swatches: ${swatches.join(', ')}`);
    const cases = await renderSvg(siteCasesSpec([{ site: 'north', cases: 1, labelled: true }, { site: 'north', cases: 1, labelled: false }, { site: 'south', cases: 2, labelled: true }], null));
    assert.deepEqual(texts(cases).filter((t) => /^[\d.]+$/.test(t)), ['0', '1', '2'], 'integer ticks only');
    assert.ok(texts(cases).includes('unlabelled') && !texts(cases).includes('false'));
    assert.ok(Number(/width="(\d+)"/.exec(cases)![1]) <= 300, 'fits a 320 px card');
  });

  it('says in words which sites need harmonising, not true/false', async () => {
    const svg = await renderSvg(figureSpec(FIGURES.find((f) => f.type === 'harmonisation-distances')!));
    assert.ok(texts(svg).includes('needs harmonising') && texts(svg).includes('close to the reference'));
    assert.ok(!texts(svg).includes('true') && !texts(svg).includes('false'), texts(svg).join('|'));
  });

  it('labels a one-point learning curve with a short tick, not 0.782227', async () => {
    const svg = await renderSvg(figureSpec({ type: 'learning-curve', id: 'lc', title: 't', caption: '', stepTitle: 'epoch', rows: [{ series: 'north', step: 1, metric: 'training loss', value: 0.78222734 }] }));
    assert.ok(texts(svg).includes('0.7822'), texts(svg).join('|'));
  });

  it('gives a site the same colour in every chart, whichever sites the chart shows', async () => {
    const colours = siteColours(['north', 'south', 'east']);
    assert.equal(new Set(['north', 'south', 'east'].map((s) => colours[s])).size, 3);
    const curve = (sites: string[]) => figureSpec({ type: 'learning-curve', id: 'lc', title: 't', caption: '', stepTitle: 'round', rows: sites.map((series) => ({ series, step: 1, metric: 'loss', value: 1 })) }, { colours });
    const scale = (spec: unknown) => (spec as { spec: { encoding: { color: { scale: { domain: string[]; range: string[] } } } } }).spec.encoding.color.scale;
    const southAlone = scale(curve(['south']));
    const all = scale(curve(['north', 'south', 'east']));
    assert.equal(southAlone.range[0], all.range[all.domain.indexOf('south')]);
    const histogram = figureSpec({ type: 'intensity-histograms', id: 'ih', title: 't', caption: '', rows: ['reference', 'south'].map((source) => ({ source, intensity: 0, fraction: 1 })) }, { colours }) as unknown as { encoding: { color: { scale: { domain: string[]; range: string[] } } } };
    assert.equal(histogram.encoding.color.scale.range[histogram.encoding.color.scale.domain.indexOf('south')], colours['south']);
  });

  it('writes each figure’s rows as RFC 4180 CSV', () => {
    const csv = figureCsv({ type: 'learning-curve', id: 'x', title: '', caption: '', stepTitle: 'round', rows: [{ series: 'site, "a"', step: 1, metric: 'loss', value: 0.5 }] });
    assert.equal(csv, 'series,step,metric,value\n"site, ""a""",1,loss,0.5\n');
  });
});
