import { when } from './dom.js';

// Audit events told as sentences for people; the raw details stay one click away in the row.

const MAX_TEXT = 60;
const MAX_SUMMARY = 240;

const an = (word) => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
const clip = (text, max = MAX_TEXT) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A short account of a value: large arrays and objects are counted, not dumped. */
function brief(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return /^[0-9a-f]{64}$/.test(value) ? `${value.slice(0, 12)}…` : clip(value);
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return value.length <= 4 && value.every((v) => typeof v !== 'object') ? value.join(', ') : `${value.length} items`;
  return `${Object.keys(value).length} fields`;
}

/** `key: value; …` for details without a sentence of their own (`skip`: keys the sentence already says). */
export function summarise(details, skip = []) {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object') return brief(details);
  return clip(Object.entries(details).filter(([k]) => !skip.includes(k)).map(([k, v]) => `${k}: ${brief(v)}`).join('; '), MAX_SUMMARY);
}

/** `actor` as people read it: sites and jobs by name. */
export function actorText(actor, names) {
  if (actor.startsWith('site:')) return `site ${names.site(actor.slice(5))}`;
  if (actor.startsWith('admin:')) return `${actor.slice(6)} (admin)`;
  return actor;
}

/** The event as one sentence (the actor is its own column). */
export function describeEvent(e, names) {
  const d = e.details ?? {};
  const site = (id) => names.site(id);
  const reason = [d.code, d.message ?? d.reason].filter(Boolean).join(': ');
  switch (e.type) {
    case 'coordinator.started': return 'The coordinator started.';
    case 'site.enrolment_issued': return `An enrolment kit was issued for ${d.name}, valid until ${when(d.expiresAt)}.`;
    case 'site.rekeyed': return `${d.name}'s key was retired; a new enrolment kit was issued.`;
    case 'site.enrolled': return `${d.name} enrolled with its own key.`;
    case 'site.revoked': return `${d.name} was revoked: ${d.reason}.`;
    case 'site.connected': return 'Connected.';
    case 'site.disconnected': return 'Disconnected.';
    case 'job.requested': return `Asked for ${an(d.kind)} job${d.spec && d.spec.name ? ` named “${clip(d.spec.name)}”` : ''} (${summarise(d.spec, ['name'])}).`;
    case 'job.submitted': return `Submitted the ${d.kind} job.`;
    case 'job.rerun': return `Re-ran ${names.job(d.of)}.`;
    case 'job.completed': return 'The job completed.';
    case 'job.failed': return `The job failed: ${d.failure}.`;
    case 'job.cancelled': return 'The job was cancelled.';
    case 'round.started': return `Round ${d.name} started with ${(d.sites ?? []).map(site).join(', ') || 'no site'}.`;
    case 'round.completed': return `Round ${d.name} completed${Array.isArray(d.answered) ? `: ${d.answered.map(site).join(', ')} answered` : typeof d.answered === 'number' ? `: ${d.answered} site(s) answered` : ''}.`;
    case 'task.sent': return `${an(d.kind).replace(/^a/, 'A')} task went to ${site(d.siteId)} (attempt ${d.attempt}).`;
    case 'task.refused': return `Refused a task: ${reason}.`;
    case 'task.failed': return `A task failed (attempt ${d.attempt}): ${reason}.`;
    case 'task.deadline_missed': return `${site(d.siteId)} missed the task's deadline (attempt ${d.attempt}).`;
    case 'result.accepted': return 'Result accepted.';
    case 'result.duplicate': return 'A result sent twice was counted once.';
    case 'result.rejected': return `Result rejected: ${d.reason}.`;
    default: return summarise(d);
  }
}
