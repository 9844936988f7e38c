/**
 * The study's HTML report: one self-contained report per study job that produces figures (written
 * by the coordinator's own report writer from the job's figures), and an index page with the
 * summary tables linking to them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeReport } from '@lgefed/coordinator/report/html-report';
import type { JobFigures } from '@lgefed/coordinator/report/job-figures';
import type { AdminClient } from '../commands/admin.js';
import { describeSizes } from './sizes.js';
import { renderSummary, type DemoSummary } from './summary.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** Training jobs are summarised in the index; the jobs with figures get their own page. */
const REPORTED_STEPS = new Set(['harmonisation-check', 'finetune', 'fedavg', 'cross-site-evaluation']);

/** Writes `dir/index.html` and one folder per reported job; returns the index path. */
export async function writeStudyReport(dir: string, client: AdminClient, summary: DemoSummary): Promise<string> {
  await mkdir(dir, { recursive: true });
  const links: string[] = [];
  for (const job of summary.jobs.filter((j) => REPORTED_STEPS.has(j.step) && j.status === 'completed')) {
    const folder = slug(job.label);
    const figures = await client.request<JobFigures>('GET', `/api/jobs/${job.id}/figures`);
    await writeReport(join(dir, folder), figures);
    links.push(`<li><a href="${folder}/index.html">${escapeHtml(job.label)}</a> (${escapeHtml(job.kind)}, job ${escapeHtml(job.id)})</li>`);
  }
  const index = join(dir, 'index.html');
  await writeFile(
    index,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>lgefed federated study demo</title>
<style>body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow-x:auto}</style></head>
<body><h1>lgefed federated study demo</h1>
<p>Sizes: ${escapeHtml(describeSizes(summary.sizes))}.</p>
<h2>Job reports</h2><ul>${links.join('\n') || '<li>No job finished with figures.</li>'}</ul>
<h2>Summary</h2><pre>${escapeHtml(renderSummary(summary))}</pre>
</body></html>
`,
  );
  return index;
}
