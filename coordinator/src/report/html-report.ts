import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { figureCsv, figureSpec, type Colours, type FigureData, type FinetuneSummaryRow } from '@lgefed/shared/plots/figures';
import { renderSvg } from '@lgefed/shared/plots/render';
import type { JobFigures } from './job-figures.js';
import { reportJson } from './signed-report.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const when = (ms: number | null) => (ms === null ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC');
const fixed = (v: number | null, digits = 3) => (v === null ? '—' : v.toFixed(digits));

function finetuneTable(rows: readonly FinetuneSummaryRow[]): string {
  const body = rows
    .map(
      (r) =>
        `<tr><td>${(r.dataFraction * 100).toFixed(0)}%</td><td>${escapeHtml(r.structure)}</td><td>${fixed(r.scratch)}</td><td>${escapeHtml(r.bestVariant ?? '—')}</td><td>${fixed(r.best)}</td>` +
        `<td class="${(r.gainOverScratch ?? 0) < 0 ? 'worse' : 'better'}">${r.gainOverScratch === null ? '—' : (r.gainOverScratch >= 0 ? '+' : '') + r.gainOverScratch.toFixed(3)}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>data</th><th>structure</th><th>scratch</th><th>best fine-tune</th><th>Dice</th><th>gain</th></tr></thead><tbody>${body}</tbody></table>`;
}

export interface FigureSectionOptions {
  /** Links to the CSV/JSON files `writeReport` puts beside the page. */
  readonly dataLinks?: boolean;
  /** A link under the figure (the study overview links each figure to its job's page). */
  readonly link?: { readonly href: string; readonly text: string };
}

/** SVGs rendered per figure and colours: the study overview shows figures its job pages render too. */
const rendered = new WeakMap<FigureData, { colours: Colours; svg: Promise<string> }>();

function figureSvg(figure: FigureData, colours: Colours): Promise<string> {
  const kept = rendered.get(figure);
  if (kept?.colours === colours) return kept.svg;
  const svg = renderSvg(figureSpec(figure, { withTitle: false, colours }));
  rendered.set(figure, { colours, svg });
  return svg;
}

/** One figure as a page section: title, caption, embedded SVG (and Table 5's rows as a table). */
export async function renderFigureSection(figure: FigureData, colours: Colours, options: FigureSectionOptions = {}): Promise<string> {
  // An <img> keeps each SVG's internal ids (clip paths, gradients) from colliding with the others'.
  const svg = await figureSvg(figure, colours);
  const img = `<img alt="${escapeHtml(figure.title)}" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}">`;
  const table = figure.type === 'finetune-summary' ? finetuneTable(figure.rows) : '';
  const links = options.dataLinks ? `<p class="data">Data: <a href="figures/${escapeHtml(figure.id)}.csv">CSV</a> · <a href="figures/${escapeHtml(figure.id)}.json">JSON</a></p>` : '';
  const link = options.link ? `<p class="data"><a href="${escapeHtml(options.link.href)}">${escapeHtml(options.link.text)}</a></p>` : '';
  return `<section class="figure" id="${escapeHtml(figure.id)}"><h2>${escapeHtml(figure.title)}</h2><p class="caption">${escapeHtml(figure.caption)}</p>${img}${table}${links}${link}</section>`;
}

/** The report pages' stylesheet (job pages and the study overview look alike). */
export const REPORT_STYLE = `body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#0d3b66;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.85}
main{padding:16px 32px;max-width:1200px}section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 20px;margin:16px 0}
h2{font-size:17px;margin:4px 0}.caption{color:#57606a;margin:4px 0 12px}img{max-width:100%}
table{border-collapse:collapse;margin:12px 0;font-size:13px}th,td{border-bottom:1px solid #d0d7de;padding:4px 10px;text-align:left}
.better{color:#1a7f37}.worse{color:#cf222e}.data{font-size:13px}ol.rounds{display:flex;flex-wrap:wrap;gap:6px;list-style:none;padding:0}
ol.rounds li{border:1px solid #d0d7de;border-radius:12px;padding:2px 10px;font-size:13px}ol.rounds li.completed{background:#dafbe1}ol.rounds li.failed{background:#ffebe9}ol.rounds li.running{background:#fff8c5}
ol.rounds span{color:#57606a}pre{background:#f6f8fa;padding:12px;overflow-x:auto;font-size:12px}`;

/**
 * The report page: job facts, every figure as embedded SVG, exclusions. No external resource is
 * referenced; `dataLinks` adds links to the CSV/JSON files `writeReport` puts beside it.
 */
export async function renderReportHtml(report: JobFigures, options: { readonly dataLinks?: boolean } = {}): Promise<string> {
  const { job } = report;
  const sections = await Promise.all(report.figures.map((f) => renderFigureSection(f, report.colours, { dataLinks: options.dataLinks ?? false })));
  const excluded = report.excluded.length
    ? `<section><h2>Excluded sites</h2><table><thead><tr><th>round</th><th>site</th><th>reason</th></tr></thead><tbody>${report.excluded
        .map((e) => `<tr><td>${escapeHtml(e.round)}</td><td>${escapeHtml(e.site)}</td><td>${escapeHtml(e.reason ?? '')}</td></tr>`)
        .join('')}</tbody></table></section>`
    : '';
  const rounds = report.rounds.map((r) => `<li class="${r.status}">${escapeHtml(r.name)} <span>${r.status}</span></li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(job.name)} — lgefed report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
${REPORT_STYLE}
</style></head>
<body><header><h1>${escapeHtml(job.name)}</h1><p>${escapeHtml(job.kind)} job ${escapeHtml(job.id)} · ${escapeHtml(job.status)} · submitted by ${escapeHtml(job.submittedBy)} · ${when(job.createdAt)} → ${when(job.finishedAt)}</p></header>
<main>
${report.model ? `<section><h2>Model</h2><p>sha256 <code>${escapeHtml(report.model.hash)}</code>${report.model.evaluatedIn.length ? ` · scored in ${report.model.evaluatedIn.map((e) => escapeHtml(e.name)).join(', ')}` : ''}</p></section>` : ''}
<section><h2>Rounds</h2><ol class="rounds">${rounds}</ol>${job.failure ? `<p class="worse">Failure: ${escapeHtml(job.failure)}</p>` : ''}</section>
${sections.join('\n') || '<section><p>No figures yet: no round of this job has completed.</p></section>'}
${excluded}
</main></body></html>
`;
}

/**
 * Writes `index.html` (plots embedded), `report.json` (everything), `figures/<id>.csv|json` per
 * figure and, given the coordinator's attestation (a JWS over report.json's digest), `report.jws`.
 * Returns the files written.
 */
export async function writeReport(outDir: string, report: JobFigures, attestation?: string): Promise<string[]> {
  await mkdir(join(outDir, 'figures'), { recursive: true });
  const written: string[] = [];
  const write = async (name: string, content: string) => {
    await writeFile(join(outDir, name), content);
    written.push(name);
  };
  await write('index.html', await renderReportHtml(report, { dataLinks: true }));
  await write('report.json', reportJson(report));
  if (attestation !== undefined) await write('report.jws', `${attestation}\n`);
  for (const figure of report.figures) {
    await write(`figures/${figure.id}.csv`, figureCsv(figure));
    await write(`figures/${figure.id}.json`, `${JSON.stringify({ id: figure.id, title: figure.title, type: figure.type, rows: figure.rows }, null, 2)}\n`);
  }
  return written;
}
