import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { renderPng, renderSvg, type VegaLiteSpec } from '@lgefed/shared/plots/index';

const bars: VegaLiteSpec = {
  width: 200,
  height: 100,
  data: { values: [{ site: 'siteA', dice: 0.9 }, { site: 'siteB', dice: 0.3 }] },
  mark: 'bar',
  encoding: { x: { field: 'site', type: 'nominal' }, y: { field: 'dice', type: 'quantitative', title: 'Dice' } },
};

describe('headless chart rendering', () => {
  it('renders a Vega-Lite chart to SVG with its data and titles', async () => {
    const svg = await renderSvg(bars);
    assert.match(svg, /^<svg/);
    assert.match(svg, /siteA/);
    assert.match(svg, /siteB/);
    assert.match(svg, />Dice</);
  });

  it('rasterises to a PNG whose bars are drawn (not a blank image)', async () => {
    const png = PNG.sync.read(await renderPng(bars, 1));
    assert.ok(png.width >= 200 && png.height >= 100);
    let coloured = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
      if (b > r + 40 && b > g) coloured++; // Vega's default bar colour is a blue
    }
    assert.ok(coloured > 1000, `expected blue bar pixels, found ${coloured}`);
  });

  it('rejects a spec that is not Vega-Lite', async () => {
    await assert.rejects(renderSvg({ mark: 'no-such-mark' } as unknown as VegaLiteSpec));
  });
});
