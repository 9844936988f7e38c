/**
 * The study's HTML report: one self-contained report per study job that produces figures (written
 * by the coordinator's own report writer from the job's figures), and an overview page: the study's
 * key figures (cross-site heat map, single- vs multi-centre, fine-tuning curves, harmonisation
 * distances), each linking to its job's page, then the summary tables.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderFigureSection, REPORT_STYLE, writeReport } from '@lgefed/coordinator/report/html-report';
import type { JobFigures } from '@lgefed/coordinator/report/job-figures';
import type { AdminClient } from '../commands/admin.js';
import { describeSizes } from './sizes.js';
import { renderSummary, type DemoSummary } from './summary.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** Training jobs are summarised in the index; the jobs with figures get their own page. */
const REPORTED_STEPS = new Set(['harmonisation-check', 'finetune', 'fedavg', 'cross-site-evaluation']);

/** The overview's figures, in the order the study reads: who generalises, does more centres help, does fine-tuning, does harmonisation. */
const OVERVIEW_FIGURES = ['cross-site-dice', 'centre-comparison', 'finetune-curves', 'harmonisation-distances'];

/** Writes `dir/index.html` and one folder per reported job; returns the index path. */
export async function writeStudyReport(dir: string, client: AdminClient, summary: DemoSummary): Promise<string> {
  await mkdir(dir, { recursive: true });
  const links: string[] = [];
  const overview: { order: number; html: string }[] = [];
  for (const job of summary.jobs.filter((j) => REPORTED_STEPS.has(j.step) && j.status === 'completed')) {
    const folder = slug(job.label);
    const figures = await client.request<JobFigures>('GET', `/api/jobs/${job.id}/figures`);
    await writeReport(join(dir, folder), figures);
    links.push(`<li><a href="${folder}/index.html">${escapeHtml(job.label)}</a> (${escapeHtml(job.kind)}, job ${escapeHtml(job.id)})</li>`);
    for (const figure of figures.figures) {
      const order = OVERVIEW_FIGURES.indexOf(figure.id);
      if (order < 0) continue;
      const link = { href: `${folder}/index.html#${figure.id}`, text: `From “${job.label}”: the job's full report →` };
      overview.push({ order, html: await renderFigureSection(figure, figures.colours, { link }) });
    }
  }
  const figures = overview.sort((a, b) => a.order - b.order).map((f) => f.html);
  const index = join(dir, 'index.html');
  await writeFile(
    index,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>lgefed federated study demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
${REPORT_STYLE}
</style></head>
<body><header><h1>lgefed federated study demo</h1><p>Sizes: ${escapeHtml(describeSizes(summary.sizes))}.</p></header>
<main>
${figures.join('\n') || '<section><p>No job finished with figures.</p></section>'}
<section><h2>Job reports</h2><ul>${links.join('\n') || '<li>No job finished with figures.</li>'}</ul></section>
<section><h2>Summary</h2><pre>${escapeHtml(renderSummary(summary))}</pre></section>
</main></body></html>
`,
  );
  return index;
}
