import { figureSpec } from '/console/lib/figures.js';
import { api, fetchHtml } from './api.js';
import { chart, h, idDetails, roundLabel, saveFile, tookText, when } from './dom.js';

const signed = (v) => (v === null ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(3)}`);
const fixed = (v) => (v === null ? '—' : v.toFixed(3));

function table5(rows) {
  return h(
    'table.table5',
    {},
    h('thead', {}, h('tr', {}, ['data', 'structure', 'scratch', 'best fine-tune', 'Dice', 'gain'].map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h('tr', {}, h('td', {}, `${Math.round(r.dataFraction * 100)}%`), h('td', {}, r.structure), h('td', {}, fixed(r.scratch)), h('td', {}, r.bestVariant ?? '—'), h('td', {}, fixed(r.best)), h(`td.${(r.gainOverScratch ?? 0) < 0 ? 'worse' : 'better'}`, {}, signed(r.gainOverScratch))),
      ),
    ),
  );
}

/** The model a training job made: its hash, and links to the evaluations that scored it. */
function modelFacts(model) {
  const links = model.evaluatedIn.map((e, i) => [i ? ', ' : '', h('a', { href: `#results/${e.id}` }, e.name)]);
  return h('p.model', {}, 'Model ', h('code', { title: model.hash }, model.hash.slice(0, 12)), model.evaluatedIn.length ? [' · scored in ', links] : ' · not evaluated yet');
}

export async function renderResults(jobId) {
  const meta = document.getElementById('results-meta');
  const figures = document.getElementById('figures');
  if (!jobId) {
    meta.replaceChildren(h('p.empty', {}, 'No job selected.'));
    figures.replaceChildren();
    return;
  }
  const report = await api('GET', `/api/jobs/${jobId}/figures`);
  const job = report.job;
  meta.replaceChildren(
    ...[
      h('h3.job-name', {}, job.name),
      h(
        'p.meta',
        {},
        `${job.kind} job · ${job.status} · by ${job.submittedBy} · started ${when(job.createdAt)}${job.finishedAt ? ` · finished ${when(job.finishedAt)} · took ${tookText(job)}` : ''}`,
        job.failure ? h('span.failure', {}, ` · ${job.failure}`) : null,
      ),
      idDetails(job.id),
      report.model ? modelFacts(report.model) : null,
      report.excluded.length ? h('p.failure', {}, `Excluded: ${report.excluded.map((e) => `${e.site} in ${roundLabel(e.round)} (${e.reason ?? 'no reason'})`).join('; ')}`) : null,
    ].filter(Boolean),
  );
  figures.replaceChildren(
    ...(report.figures.length
      ? report.figures.map((f) => h('section.card.figure', { 'data-figure': f.id }, h('h3', {}, f.title), h('p', {}, f.caption), chart(figureSpec(f, { withTitle: false, colours: report.colours }), 'chart', `${f.title}. ${f.caption}`), f.type === 'finetune-summary' ? table5(f.rows) : null))
      : [h('p.empty', {}, job.status === 'running' ? 'No figures yet: no round of this job has completed.' : 'This job left no figures.')]),
  );
}

/**
 * Kinds whose runs can be compared, and the figures compared: cross-site Dice and learning curves,
 * and for training runs (the study's arms: augmentation or none, one centre or another) the loss
 * curve and the model's Dice.
 */
export const COMPARABLE_KINDS = ['evaluate', 'fedavg', 'train'];
const COMPARED_FIGURES = ['cross-site-dice', 'learning-curves', 'training-loss', 'model-dice'];

/** Two runs of one kind side by side: each compared figure both have, one run's next to the other's. */
export async function renderComparison(jobId, otherId) {
  const section = document.getElementById('compare');
  if (!jobId || !otherId) return section.replaceChildren();
  const runs = await Promise.all([jobId, otherId].map((id) => api('GET', `/api/jobs/${encodeURIComponent(id)}/figures`)));
  const figureOf = (run, id) => run.figures.find((f) => f.id === id);
  const shared = COMPARED_FIGURES.filter((id) => runs.every((run) => figureOf(run, id)));
  // A run compared with its re-run has the same name: their short ids tell them apart.
  const sameName = runs[0].job.name === runs[1].job.name;
  const side = (run, id) => {
    const f = figureOf(run, id);
    return h(
      'div',
      { 'data-job': run.job.id },
      h('h4', {}, h('a', { href: `#results/${run.job.id}` }, run.job.name), `${sameName ? ` · ${run.job.id.slice(0, 8)}` : ''} · ${run.job.status} ${when(run.job.finishedAt ?? run.job.createdAt)}`),
      chart(figureSpec(f, { withTitle: false, colours: run.colours }), 'chart', `${f.title} of ${run.job.name}. ${f.caption}`),
    );
  };
  section.replaceChildren(
    ...(shared.length
      ? shared.map((id) => h('section.card.figure', { 'data-compare': id }, h('h3', {}, `${figureOf(runs[0], id).title}, side by side`), h('div.pair', {}, runs.map((run) => side(run, id)))))
      : [h('p.empty', {}, `“${runs[0].job.name}” and “${runs[1].job.name}” have no figures to compare in common yet.`)]),
  );
}

/** A job report's own console URL: bookmarkable and shareable (whoever opens it signs in first). */
export const reportUrl = (jobId) => `#report/${jobId}`;

const reportOf = (jobId) => fetchHtml(`/api/jobs/${encodeURIComponent(jobId)}/report`);

/** Shows the report at its console URL: fetched with the token, drawn in a sandboxed frame. */
export async function renderReport(jobId) {
  const frame = document.getElementById('report-frame');
  const error = document.getElementById('report-error');
  error.textContent = '';
  document.getElementById('report-results').href = `#results/${jobId}`;
  frame.onload = () => (frame.style.height = `${frame.contentDocument.documentElement.scrollHeight + 20}px`);
  try {
    frame.srcdoc = await reportOf(jobId);
  } catch (err) {
    frame.srcdoc = '';
    error.textContent = `${err.code}: ${err.message}`;
  }
}

/** Saves the report as a self-contained HTML file. */
export async function downloadReport(jobId) {
  saveFile(`lgefed-report-${jobId}.html`, await reportOf(jobId), 'text/html');
}
