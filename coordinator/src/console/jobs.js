import { learningCurveSpec } from '/console/lib/figures.js';
import { api } from './api.js';
import { chart, duration, h, idDetails, roundLabel, tookText, when } from './dom.js';
import { jobForm } from './job-form.js';
import { reportUrl } from './results.js';

export function setupSubmit(ctx) {
  const kind = document.getElementById('submit-kind');
  const fields = document.getElementById('submit-fields');
  const advanced = document.getElementById('submit-advanced');
  const spec = document.getElementById('submit-spec');
  const error = document.getElementById('submit-error');
  let form = null;
  const build = () => {
    form = jobForm(kind.value, ctx.siteNames());
    fields.replaceChildren(form.element);
    advanced.open = false;
  };
  kind.replaceChildren(...ctx.kinds.map((k) => h('option', { value: k }, k)));
  kind.value = ctx.kinds.includes('fedavg') ? 'fedavg' : ctx.kinds[0];
  kind.addEventListener('change', build);
  // Opening the JSON view starts it from the fields; while it is open, it is what gets submitted.
  advanced.addEventListener('toggle', () => advanced.open && (spec.value = JSON.stringify(form.spec(), null, 2)));
  document.getElementById('submit-panel').addEventListener('toggle', (e) => e.target.open && !form && build());
  document.getElementById('submit-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    let parsed;
    try {
      parsed = advanced.open ? JSON.parse(spec.value) : form.spec();
    } catch (err) {
      error.textContent = `spec is not JSON: ${err.message}`;
      return;
    }
    try {
      const job = await api('POST', '/api/jobs', { kind: kind.value, spec: parsed });
      document.getElementById('submit-panel').open = false;
      ctx.flash(`job “${job.name}” submitted`);
      ctx.refreshJobs();
    } catch (err) {
      error.textContent = `${err.code}: ${err.message}`;
    }
  });
}

const STAGES = { loading: 'loading data', training: 'training', evaluating: 'scoring test cases', uploading: 'sending weights' };

/** What a task is doing, in words; no percentage or ETA until the site has reported one. */
function taskText(task) {
  if (task.status === 'completed') return 'done';
  if (task.status === 'excluded') return 'excluded';
  if (task.status === 'pending') return 'waiting for the site';
  const model = task.models ? `model ${Math.min(task.models.scored + 1, task.models.total)} of ${task.models.total}: ` : '';
  if (task.stage === null) return task.models && task.models.scored > 0 ? `${model}starting` : 'queued at the site';
  const parts = [`${model}${STAGES[task.stage] ?? task.stage} ${Math.round(task.fraction * 100)} %`];
  if (task.epoch) parts.push(`epoch ${task.epoch}`);
  if (task.loss) parts.push(`loss ${task.loss.toFixed(3)}`);
  // Under a few seconds left is noise in the rate: say nothing rather than "0m00s" while work goes on.
  if (task.etaSeconds !== null && task.etaSeconds >= 5) parts.push(`about ${duration(task.etaSeconds)} left`);
  return parts.join(' · ');
}

function taskRow(task) {
  const known = task.status === 'completed' || task.stage !== null || (task.models !== null && task.models.scored > 0);
  const pct = known && task.fraction !== null ? Math.round(task.fraction * 100) : 0;
  const text = taskText(task) + (task.retries > 0 ? ` · retry ${task.retries}/${task.maxAttempts - 1}` : '');
  return [
    h('span', {}, task.site),
    h(
      `div.bar.${task.status}`,
      { role: 'progressbar', 'aria-label': `${task.site}: ${text}`, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': known ? pct : undefined, 'data-site': task.site },
      h('div', { style: `width:${pct}%` }),
    ),
    h('span', {}, text),
    task.excludedReason ? h('span.excluded-reason', {}, `excluded: ${task.excludedReason}`) : null,
  ];
}

function jobCard(job, ctx) {
  const current = job.rounds.find((r) => r.status === 'running') ?? job.rounds.at(-1);
  const doneRounds = job.rounds.filter((r) => r.status === 'completed').length;
  const actions = [];
  if (ctx.isAdmin && job.status === 'running') actions.push(h('button.danger', { onclick: () => ctx.act(`/api/jobs/${job.id}/cancel`, 'cancelled'), 'data-action': 'cancel' }, 'Cancel'));
  if (ctx.isAdmin && job.status !== 'running') actions.push(h('button.secondary', { onclick: () => ctx.act(`/api/jobs/${job.id}/rerun`, 're-run submitted'), 'data-action': 'rerun' }, 'Re-run'));
  actions.push(h('button.secondary', { onclick: () => ctx.showResults(job.id), 'data-action': 'results', 'aria-label': `Results of ${job.name}` }, 'Results'));
  actions.push(h('a.button.secondary', { href: reportUrl(job.id), 'data-action': 'report', 'aria-label': `Report of ${job.name}` }, 'Report'));
  const losses = (current ? current.tasks : []).flatMap((t) => t.losses.map((p) => ({ series: t.site, step: p.epoch, metric: 'training loss', value: p.loss })));
  const round = job.status === 'running' ? `round ${doneRounds + 1}${job.plannedRounds ? ` of ${job.plannedRounds}` : ''}${current ? `: ${roundLabel(current.name)}` : ''}` : `${doneRounds} round${doneRounds === 1 ? '' : 's'} completed`;
  const timing = job.finishedAt ? `started ${when(job.createdAt)} · finished ${when(job.finishedAt)} · took ${tookText(job)}` : `started ${when(job.createdAt)} · running for ${tookText(job)}`;
  return h(
    'article.card.job',
    { 'data-job': job.id, 'data-status': job.status, 'aria-label': job.name },
    h(
      'header',
      {},
      h('h3', {}, job.name),
      h('span.kind', {}, job.kind),
      h(`span.badge.${job.status}`, {}, job.status),
      h('span.meta', {}, `${round} · by ${job.submittedBy} · ${timing}`),
      h('div.actions', {}, actions),
    ),
    h('div.rounds', { 'aria-label': 'rounds' }, job.rounds.map((r) => h(`span.${r.status}`, { title: `${r.name}: ${r.status}` }, roundLabel(r.name)))),
    job.failure ? h('p.failure', {}, job.failure) : null,
    current && current.tasks.length ? h('div.tasks', {}, current.tasks.map(taskRow)) : null,
    losses.length > 1 ? chart(learningCurveSpec(losses, 'epoch', 'Live training loss', ctx.colours()), 'chart', `Live training loss per epoch of ${job.name}, per site`) : null,
    idDetails(job.id),
  );
}

export function renderJobs(jobs, ctx) {
  const list = document.getElementById('job-list');
  list.replaceChildren(...(jobs.length ? jobs.map((j) => jobCard(j, ctx)) : [h('p.empty', {}, 'No jobs yet.')]));
}
