import { h } from './dom.js';

const MAX_KEPT = 5000;

/** The audit log as it streams in, filterable by text and by event type. */
export class AuditView {
  constructor() {
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

  render() {
    const text = this.filter.value.trim().toLowerCase();
    const type = this.type.value;
    const shown = this.events.filter((e) => (!type || e.type === type) && (!text || JSON.stringify(e).toLowerCase().includes(text)));
    document.getElementById('audit-count').textContent = `${shown.length} of ${this.events.length} events`;
    document.getElementById('audit-rows').replaceChildren(
      ...shown.slice(0, 500).map((e) =>
        h('tr', { 'data-type': e.type }, h('td', {}, String(e.seq)), h('td', {}, new Date(e.at).toLocaleString()), h('td', {}, e.actor), h('td', {}, e.type), h('td', {}, e.subject ?? ''), h('td.details', {}, JSON.stringify(e.details))),
      ),
    );
  }
}
