import assert from 'node:assert/strict';
import {
  crossSiteDiceSpec,
  figureCsv,
  figureSpec,
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
  { type: 'centre-comparison', id: 'cc', title: 'Single vs multi', caption: '', rows: SITES.flatMap((site) => [{ structure: 'bloodpool', site, model: `local:${site}`, kind: 'own single-centre' as const, mean: 0.7, gainOverOwn: null }, { structure: 'bloodpool', site, model: 'federated', kind: 'multi-centre' as const, mean: 0.8, gainOverOwn: 0.1 }]) },
];

describe('figure spec builders (shared/plots/figures)', () => {
  for (const figure of FIGURES) {
    it(`renders the ${figure.type} figure with its title and data`, async () => {
      const svg = await renderSvg(figureSpec(figure));
      assert.match(svg, /^<svg/);
      assert.ok(svg.includes(figure.title), `title ${figure.title} missing`);
      const names = figure.type === 'harmonisation-distances' || figure.type === 'centre-comparison' ? SITES : figure.type === 'finetune-summary' ? ['25%'] : [];
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

  it('writes each figure’s rows as RFC 4180 CSV', () => {
    const csv = figureCsv({ type: 'learning-curve', id: 'x', title: '', caption: '', stepTitle: 'round', rows: [{ series: 'site, "a"', step: 1, metric: 'loss', value: 0.5 }] });
    assert.equal(csv, 'series,step,metric,value\n"site, ""a""",1,loss,0.5\n');
  });
});
