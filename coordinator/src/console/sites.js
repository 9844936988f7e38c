import { siteCasesSpec } from '/console/lib/figures.js';
import { api } from './api.js';
import { ago, chart, h, saveFile, when } from './dom.js';

const BACKENDS = { ML_BACKEND_TFJS_CPU: 'tfjs CPU', ML_BACKEND_TFJS_WASM: 'tfjs WASM', ML_BACKEND_TFJS_NODE: 'tfjs-node', ML_BACKEND_TFJS_NODE_GPU: 'tfjs-node GPU' };

function state(site) {
  if (site.status === 'revoked') return 'revoked';
  if (site.status === 'pending') return 'pending';
  return site.presence && site.presence.connected ? 'online' : 'offline';
}

function hardware(p) {
  if (!p || !p.capabilities) return '—';
  const c = p.capabilities;
  const gpus = c.gpus && c.gpus.length ? c.gpus.map((g) => g.name || 'GPU').join(', ') : 'no GPU';
  return `${BACKENDS[c.mlBackend] ?? c.mlBackend} · ${gpus} · ${c.cpuCores} cores · ${(c.memoryMib / 1024).toFixed(1)} GiB`;
}

/**
 * Enrolment from the page, as \`lgefed coordinator enroll\` and \`admin sites ... revoke\` do it: a kit
 * for a new site name, offered as a download, and a revocation behind a confirmation dialog (the
 * dialog lives outside the cards, which live updates redraw).
 */
export function setupSites(ctx) {
  const $ = (id) => document.getElementById(id);
  $('enrol-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('enrol-error').textContent = '';
    $('enrol-done').textContent = '';
    try {
      const name = $('enrol-name').value.trim();
      const kit = await api('POST', `/api/sites/${encodeURIComponent(name)}/enrolment`, { ttlHours: Number($('enrol-ttl').value) });
      const file = `${kit.siteName}-kit.json`;
      saveFile(file, JSON.stringify(kit, null, 2) + '\n', 'application/json');
      $('enrol-done').textContent = `Startup kit for ${kit.siteName} downloaded as ${file}; its token works once, until ${when(Date.parse(kit.tokenExpiresAt))}. The site starts its agent with lgefed site start --kit ${file} --config site.json.`;
      $('enrol-name').value = '';
      await ctx.refreshSites();
    } catch (err) {
      $('enrol-error').textContent = `${err.code}: ${err.message}`;
    }
  });
  const dialog = $('revoke-dialog');
  $('revoke-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (e.submitter?.value !== 'confirm') return dialog.close();
    try {
      await api('POST', `/api/sites/${encodeURIComponent(dialog.dataset.site)}/revoke`, { reason: $('revoke-reason').value.trim() || 'revoked by admin' });
      dialog.close();
      ctx.flash(`site ${dialog.dataset.site} revoked`);
      await ctx.refreshSites();
    } catch (err) {
      $('revoke-error').textContent = `${err.code}: ${err.message}`;
    }
  });
  /** Asks before revoking the named site. */
  return (name) => {
    dialog.dataset.site = name;
    $('revoke-what').textContent = `Revoke ${name}? Its agent is refused from then on, and the name cannot be enrolled again.`;
    $('revoke-error').textContent = '';
    dialog.showModal();
  };
}

function card(site, ctx) {
  const p = site.presence;
  const s = state(site);
  const datasets = p && p.datasets.length ? p.datasets.map((d) => `${d.name}: ${d.caseCount} cases (${d.labelledCaseCount} labelled), ${d.sliceCount} slices`).join('; ') : '—';
  const activity = p && p.activeTaskIds.length ? `${p.activeTaskIds.length} task(s) running` : 'idle';
  return h(
    'article.card.site',
    { 'data-site': site.name, 'data-state': s },
    h('h3', {}, site.name, h(`span.badge.${s}`, {}, s)),
    h(
      'dl.facts',
      {},
      h('dt', {}, 'heartbeat'), h('dd', { className: 'heartbeat' }, p && p.connected ? ago(p.heartbeatAgeMs) : p && p.lastHeartbeatAt ? `last ${ago(Date.now() - p.lastHeartbeatAt)}` : 'never'),
      h('dt', {}, 'activity'), h('dd', {}, activity),
      h('dt', {}, 'hardware'), h('dd', {}, hardware(p)),
      h('dt', {}, 'agent'), h('dd', {}, p && p.agentVersion ? p.agentVersion : '—'),
      h('dt', {}, 'data'), h('dd', {}, datasets),
      h('dt', {}, 'policy'), h('dd', {}, site.policy.refusals === 0 ? 'no task refused' : `${site.policy.refusals} task(s) refused; last: ${site.policy.lastRefusal}`),
      h('dt', {}, 'last error'), h('dd', { className: site.lastError ? 'failure' : '' }, site.lastError ? `${site.lastError.type}: ${site.lastError.message} (${ago(Date.now() - site.lastError.at)})` : 'none'),
      site.revokedReason ? [h('dt', {}, 'revoked'), h('dd', {}, site.revokedReason)] : null,
    ),
    ctx.isAdmin && site.status !== 'revoked' ? h('div.actions', {}, h('button.danger', { onclick: () => ctx.confirmRevoke(site.name), 'data-action': 'revoke', 'aria-label': `Revoke ${site.name}` }, 'Revoke')) : null,
  );
}

export function renderSites(sites, ctx) {
  // A revoked site is no longer part of the federation: the summary counts the others.
  const members = sites.filter((s) => state(s) !== 'revoked');
  const online = members.filter((s) => state(s) === 'online').length;
  const cases = members.flatMap((s) => (s.presence ? s.presence.datasets : [])).reduce((n, d) => n + d.caseCount, 0);
  const busy = members.filter((s) => s.presence && s.presence.activeTaskIds.length > 0).length;
  document.getElementById('site-summary').replaceChildren(
    h('div.stat', {}, h('b', { id: 'sites-online' }, `${online}/${members.length}`), 'sites online'),
    h('div.stat', {}, h('b', {}, String(busy)), 'sites working'),
    h('div.stat', {}, h('b', {}, String(cases)), 'cases across sites'),
  );
  const rows = sites.flatMap((s) =>
    (s.presence ? s.presence.datasets : []).flatMap((d) => [
      { site: s.name, labelled: true, cases: d.labelledCaseCount },
      { site: s.name, labelled: false, cases: d.caseCount - d.labelledCaseCount },
    ]),
  );
  const cards = sites.length ? sites.map((s) => card(s, ctx)) : [h('p.empty', {}, 'No site enrolled yet.')];
  if (rows.length) {
    const alt = `Cases per site: ${sites.filter((s) => s.presence && s.presence.datasets.length).map((s) => `${s.name} ${s.presence.datasets.reduce((n, d) => n + d.caseCount, 0)}`).join(', ')}`;
    cards.push(h('article.card.site-cases', {}, h('h3', {}, 'Cases per site'), chart(siteCasesSpec(rows, null), 'chart', alt)));
  }
  document.getElementById('site-cards').replaceChildren(...cards);
}
