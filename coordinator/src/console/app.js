import { io } from '/console/vendor/socket.io.esm.min.js';
import { siteColours } from '/console/lib/figures.js';
import { api, ApiError, token, TOKEN_KEY, whenUnauthenticated } from './api.js';
import { AuditView } from './audit.js';
import { h, when } from './dom.js';
import { renderJobs, setupSubmit } from './jobs.js';
import { COMPARABLE_KINDS, downloadReport, renderComparison, renderReport, renderResults, reportUrl } from './results.js';
import { renderSites, setupSites } from './sites.js';

const VIEWS = ['sites', 'jobs', 'results', 'report', 'audit'];
const TITLES = { sites: 'Sites', jobs: 'Jobs', results: 'Results', report: 'Report', audit: 'Audit log' };
const $ = (id) => document.getElementById(id);

let socket = null;
let sites = [];
let jobs = [];
let audit = null;
let started = false;

function show(view) {
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  for (const a of document.querySelectorAll('nav a')) {
    a.classList.toggle('active', a.dataset.view === view);
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${TITLES[view]} · lgefed console`;
}

/** Ids as people know them: jobs and sites by name (an unknown id stays as it is). */
const names = {
  site: (id) => sites.find((s) => s.id === id)?.name ?? id,
  job: (id) => jobs.find((j) => j.id === id)?.name ?? id,
  subject: (id) => jobs.find((j) => j.id === id)?.name ?? sites.find((s) => s.id === id)?.name ?? id,
};

function route() {
  const [view, arg] = location.hash.slice(1).split('/');
  const chosen = !VIEWS.includes(view) ? 'sites' : view === 'report' && !arg ? 'results' : view;
  show(chosen);
  if (chosen === 'results') {
    const select = $('results-job');
    if (arg) select.value = arg;
    linkReport();
    fillComparePicker();
    renderResults(select.value).catch((err) => $('results-meta').replaceChildren(h('p.error', {}, err.message)));
    renderComparison(select.value, $('results-compare').value).catch((err) => $('compare').replaceChildren(h('p.error', {}, err.message)));
  }
  if (chosen === 'report') {
    $('h-report').textContent = `Report: ${names.job(arg)}`;
    document.title = `Report: ${names.job(arg)} · lgefed console`;
    renderReport(arg);
  }
}

/** "Open report" is a link to the chosen job's report URL, so it can be opened in a new tab or copied. */
const linkReport = () => ($('open-report').href = reportUrl($('results-job').value));

// A name given twice (a re-run) gets its short id to tell the two apart.
const jobLabel = (j) => `${j.name} · ${j.status} · ${when(j.finishedAt ?? j.createdAt)}${jobs.filter((x) => x.name === j.name).length > 1 ? ` · ${j.id.slice(0, 8)}` : ''}`;

function fillJobPicker() {
  const select = $('results-job');
  const chosen = select.value || (location.hash.startsWith('#results/') ? location.hash.split('/')[1] : '');
  select.replaceChildren(...jobs.map((j) => h('option', { value: j.id }, jobLabel(j))));
  if (chosen && jobs.some((j) => j.id === chosen)) select.value = chosen;
  linkReport();
  fillComparePicker();
}

/** The runs the chosen job can be compared with: other completed jobs of its kind (#results/<id>/vs/<other>). */
function fillComparePicker() {
  const job = jobs.find((j) => j.id === $('results-job').value);
  const peers = job && COMPARABLE_KINDS.includes(job.kind) ? jobs.filter((j) => j.id !== job.id && j.kind === job.kind && j.status === 'completed') : [];
  const [, , vs, other] = location.hash.split('/');
  const select = $('results-compare');
  select.replaceChildren(h('option', { value: '' }, 'no other run'), ...peers.map((j) => h('option', { value: j.id }, jobLabel(j))));
  select.value = vs === 'vs' && peers.some((j) => j.id === other) ? other : '';
  $('compare-label').hidden = peers.length === 0;
}

function flash(text) {
  const note = h('div.card', { style: 'position:fixed;right:20px;bottom:20px;z-index:9', role: 'status' }, text);
  document.body.append(note);
  setTimeout(() => note.remove(), 4000);
}

async function start(who) {
  started = true;
  $('login').hidden = true;
  $('app').hidden = false;
  $('who').textContent = `${who.subject} (${who.role})`;
  document.body.dataset.role = who.role;
  for (const el of document.querySelectorAll('.admin-only')) el.hidden = who.role !== 'admin';
  const ctx = {
    isAdmin: who.role === 'admin',
    kinds: await api('GET', '/api/kinds'),
    siteNames: () => sites.filter((s) => s.status === 'enrolled').map((s) => s.name),
    colours: () => siteColours(sites.map((s) => s.name)),
    flash,
    refreshJobs: async () => update({ jobs: await api('GET', '/api/console/jobs') }),
    refreshSites: async () => update({ sites: await api('GET', '/api/console/sites') }),
    showResults: (id) => (location.hash = `#results/${id}`),
    act: async (path, done) => {
      try {
        await api('POST', path);
        flash(done);
        await ctx.refreshJobs();
      } catch (err) {
        flash(`${err.code}: ${err.message}`);
      }
    },
  };
  setupSubmit(ctx);
  ctx.confirmRevoke = setupSites(ctx);
  audit = new AuditView(names);
  const update = (next) => {
    if (next.sites) renderSites((sites = next.sites), ctx);
    if (next.jobs) {
      renderJobs((jobs = next.jobs), ctx);
      fillJobPicker();
    }
  };
  // First paint from REST, then live over socket.io.
  update({ sites: await api('GET', '/api/console/sites'), jobs: await api('GET', '/api/console/jobs') });
  $('results-job').addEventListener('change', (e) => (location.hash = `#results/${e.target.value}`));
  $('results-compare').addEventListener('change', (e) => (location.hash = `#results/${$('results-job').value}${e.target.value ? `/vs/${e.target.value}` : ''}`));
  $('download-report').addEventListener('click', () => downloadReport($('results-job').value).catch((err) => flash(err.message)));
  $('report-download').addEventListener('click', () => downloadReport(location.hash.split('/')[1]).catch((err) => flash(err.message)));
  window.addEventListener('hashchange', route);
  route();

  socket = io({ path: '/console/live', auth: { token: token.get() } });
  socket.on('connect', () => {
    $('live-state').textContent = 'live';
    $('live-state').className = 'live on';
  });
  socket.on('disconnect', () => {
    $('live-state').textContent = 'offline';
    $('live-state').className = 'live off';
  });
  socket.on('connect_error', (err) => flash(`live updates: ${err.message}`));
  socket.on('sites', (s) => update({ sites: s }));
  socket.on('jobs', (j) => {
    const wasRunning = new Set(jobs.filter((x) => x.status === 'running').map((x) => x.id));
    update({ jobs: j });
    // A job that just finished has new figures: refresh the open results view.
    const selected = $('results-job').value;
    if (!$('view-results').hidden && wasRunning.has(selected) && j.some((x) => x.id === selected && x.status !== 'running')) route();
  });
  socket.on('audit', (events) => audit.add(events));
}

function showLogin(message) {
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message ?? '';
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  token.set($('login-token').value.trim());
  try {
    const who = await api('GET', '/api/whoami');
    // Signed in again after a 401: a fresh page rather than a second set of listeners.
    if (started) location.reload();
    else await start(who);
  } catch (err) {
    token.clear();
    showLogin(`${err.code}: ${err.message}`);
  }
});
// A token is one line: Enter signs in (Shift+Enter is left alone).
$('login-token').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('login-form').requestSubmit();
  }
});
$('logout').addEventListener('click', () => {
  token.clear();
  if (socket) socket.disconnect();
  location.reload();
});
whenUnauthenticated((reason) => {
  if (socket) socket.disconnect();
  showLogin(reason);
});
// Signing in or out in another tab of this console applies here too.
window.addEventListener('storage', (e) => e.key === TOKEN_KEY && location.reload());

// A 401 has shown the login form already; anything else (coordinator down) is said as it is.
if (token.get()) api('GET', '/api/whoami').then(start, (err) => err instanceof ApiError && err.status === 401 || showLogin(`cannot reach the coordinator: ${err.message}`));
else showLogin(token.signedOutBecause());
