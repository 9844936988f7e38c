import { actorText, describeEvent } from './audit-text.js';
import { h, when } from './dom.js';

const MAX_KEPT = 5000;

/** The audit log as it streams in, filterable by text and by event type; `names` turns ids into names. */
export class AuditView {
  constructor(names) {
    this.names = names;
    this.events = [];
    this.filter = document.getElementById('audit-filter');
    this.type = document.getElementById('audit-type');
    this.filter.addEventListener('input', () => this.render());
    this.type.addEventListener('change', () => this.render());
  }

  add(events) {
    const seen = new Set(this.events.map((e) => e.seq));
    for (const e of events) if (!seen.has(e.seq)) this.events.push(e);
    this.events.sort((a, b) => b.seq - a.seq);
    this.events.length = Math.min(this.events.length, MAX_KEPT);
    const types = [...new Set(this.events.map((e) => e.type))].sort();
    const chosen = this.type.value;
    this.type.replaceChildren(h('option', { value: '' }, 'all'), ...types.map((t) => h('option', { value: t }, t)));
    this.type.value = chosen;
    this.render();
  }

  /** Everything a filter may match: ids, names and the sentence. */
  search(e) {
    return `${e.type} ${e.actor} ${actorText(e.actor, this.names)} ${e.subject ?? ''} ${e.subject ? this.names.subject(e.subject) : ''} ${describeEvent(e, this.names)} ${JSON.stringify(e.details)}`.toLowerCase();
  }

  row(e) {
    const subject = e.subject ? this.names.subject(e.subject) : '';
    const raw = e.details && Object.keys(e.details).length ? h('details', {}, h('summary', {}, 'raw details'), h('pre', {}, JSON.stringify(e.details, null, 1))) : null;
    return h(
      'tr',
      { 'data-type': e.type },
      h('td', {}, String(e.seq)),
      h('td', {}, when(e.at)),
      h('td', {}, actorText(e.actor, this.names)),
      h('td', {}, e.type),
      h('td', {}, subject !== e.subject ? h('span', { title: e.subject }, subject) : subject),
      h('td.details', {}, describeEvent(e, this.names), raw),
    );
  }

  render() {
    const text = this.filter.value.trim().toLowerCase();
    const type = this.type.value;
    const shown = this.events.filter((e) => (!type || e.type === type) && (!text || this.search(e).includes(text)));
    document.getElementById('audit-count').textContent = `${shown.length} of ${this.events.length} events`;
    document.getElementById('audit-rows').replaceChildren(...shown.slice(0, 500).map((e) => this.row(e)));
  }
}
