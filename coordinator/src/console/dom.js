// Small DOM helpers: elements are built with textContent, never innerHTML, so names and reasons
// coming from sites cannot inject markup.

/** h('div.card', {onclick}, child, 'text', …) */
export function h(tag, props = {}, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(' ');
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'style') el.setAttribute('style', value);
    else if (key in el && key !== 'list') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
  return el;
}

export function ago(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** One time zone everywhere, the reports' too: UTC, to the minute. */
export const when = (ms) => (ms ? `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—');

/** How long a job ran (so far, while it runs). */
export const tookText = (job) => duration(((job.finishedAt ?? Date.now()) - job.createdAt) / 1000);

/** A round's name as people read it: "federated round 2", "2 encoder blocks tuned on 10 % of cases". */
export function roundLabel(name) {
  let m;
  if ((m = /^federated-(\d+)$/.exec(name))) return `federated round ${m[1]}`;
  if ((m = /^scratch\/f=([\d.]+)$/.exec(name))) return `from scratch on ${Math.round(Number(m[1]) * 100)} % of cases`;
  if ((m = /^finetune\/k=(\d+)\/f=([\d.]+)$/.exec(name))) return `${m[1]} encoder block${m[1] === '1' ? '' : 's'} tuned on ${Math.round(Number(m[2]) * 100)} % of cases`;
  return { 'local-baselines': 'single-site baselines', evaluate: 'evaluation', 'harmonisation-check': 'harmonisation check' }[name] ?? name;
}

/** Offers text as a file download (a report, a startup kit). */
export function saveFile(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The id behind a name, one click away. */
export const idDetails = (id) => h('details.id', {}, h('summary', {}, 'id'), h('code', {}, id));

/** Renders a Vega-Lite spec with the locally served vega-embed; `alt` is its text alternative. */
export function chart(spec, className, alt) {
  // vega-embed sets its own role on the element it draws in, so the text alternative sits one level up.
  const target = h('div');
  const el = h(`div.${className}`, { role: 'img', 'aria-label': alt }, target);
  window.vegaEmbed(target, spec, { actions: false, renderer: 'svg' }).catch((err) => el.append(h('p.error', {}, `chart failed: ${err.message}`)));
  return el;
}
