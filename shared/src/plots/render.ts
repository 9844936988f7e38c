import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type VegaLiteSpec = TopLevelSpec;

/**
 * Renders a Vega-Lite chart headlessly to SVG (no DOM, no canvas), so the same chart specs serve the
 * reports, the experiment runner's figures and the browser console (which renders them with vega-embed).
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises a chart to PNG at `scale` times its CSS size, for people who open figures as images. */
export async function renderPng(spec: VegaLiteSpec, scale = 2): Promise<Buffer> {
  const svg = await renderSvg(spec);
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  }).render();
  return png.asPng();
}
