import { parseArgs } from 'node:util';
import type { JobFigures } from '@lgefed/coordinator/report/job-figures';
import type { JobView, SiteView } from '@lgefed/coordinator/live/console-views';
import type { StartupKit } from '@lgefed/coordinator/startup-kit';
import { figureCsv } from '@lgefed/shared/plots/figures';
import { UsageError, type Command } from '../command.js';
import { writeStartupKit } from './coordinator.js';

/** A failure the coordinator reported (HTTP status and its error code), or an unreachable coordinator. */
export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The coordinator's REST API with an admin token, as `lgefed admin` and `lgefed report` use it. */
export class AdminClient {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url.replace(/\/$/, '')}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new AdminApiError(0, 'unreachable', `cannot reach the coordinator at ${this.url}: ${(err as Error).message}`);
    }
    const payload = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    if (!res.ok) throw new AdminApiError(res.status, payload?.error?.code ?? `http_${res.status}`, payload?.error?.message ?? res.statusText);
    return payload as T;
  }
}

/** A job reference that names no job, or more than one. */
export class JobRefError extends Error {
  override readonly name = 'JobRefError';
  constructor(
    readonly code: 'job_unknown' | 'job_ambiguous',
    message: string,
  ) {
    super(message);
  }
}

/** The job people mean by `ref`: the one with that id, else the only one with that name. */
export function pickJob<T extends { readonly id: string; readonly name: string }>(jobs: readonly T[], ref: string): T {
  const byId = jobs.find((j) => j.id === ref);
  if (byId) return byId;
  const named = jobs.filter((j) => j.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length === 0) throw new JobRefError('job_unknown', `no job has the id or name ${JSON.stringify(ref)} (lgefed admin jobs lists them)`);
  throw new JobRefError('job_ambiguous', `${named.length} jobs are named ${JSON.stringify(ref)}; give one of their ids: ${named.map((j) => j.id).join(', ')}`);
}

/** The id of the job given by id or name, looked up through the API. */
export async function jobIdOf(client: AdminClient, ref: string): Promise<string> {
  return pickJob(await client.request<{ id: string; name: string }[]>('GET', '/api/jobs'), ref).id;
}

export const CONNECTION = { url: { type: 'string' }, token: { type: 'string' } } as const;
export const CONNECTION_USAGE = `--url URL      coordinator (default $LGEFED_URL, else http://127.0.0.1:8443)
  --token JWT    admin or viewer token from \`lgefed coordinator token\` (default $LGEFED_TOKEN)`;

function parseOptions<T extends Record<string, { type: 'string' | 'boolean' }>>(args: string[], spec: T, positionals = false) {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: positionals });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function clientFrom(o: { url?: string | boolean; token?: string | boolean }): AdminClient {
  const url = (typeof o.url === 'string' ? o.url : undefined) ?? process.env['LGEFED_URL'] ?? 'http://127.0.0.1:8443';
  const token = (typeof o.token === 'string' ? o.token : undefined) ?? process.env['LGEFED_TOKEN'];
  if (!token) throw new UsageError('an admin token is required: --token JWT or LGEFED_TOKEN');
  return new AdminClient(url, token);
}

/** Left-aligned columns, widths from the content. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)}s`);

/** One line per job state: a bar over the job's rounds and, in the current round, over its sites' progress. */
export function jobProgressLine(job: JobView, width = 24): string {
  const planned = job.plannedRounds ?? job.rounds.length;
  const done = job.rounds.filter((r) => r.status === 'completed').length;
  const current = job.rounds.find((r) => r.status === 'running');
  const tasks = current?.tasks ?? [];
  const within = tasks.length ? tasks.reduce((a, t) => a + (t.fraction ?? 1), 0) / tasks.length : 0;
  const fraction = planned > 0 ? Math.min(1, (done + (current ? within : 0)) / planned) : 0;
  const filled = Math.round(width * fraction);
  const eta = Math.max(0, ...tasks.map((t) => t.etaSeconds ?? 0));
  const sites = tasks.map((t) => `${t.site} ${t.status === 'excluded' ? 'excluded' : `${Math.round((t.fraction ?? 0) * 100)}%`}`).join(', ');
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${job.status} round ${done}/${planned}${current ? ` ${current.name}` : ''}${sites ? ` [${sites}]` : ''}${eta > 0 ? ` ETA ${Math.round(eta)}s` : ''}`;
}

export async function watchJob(client: AdminClient, jobId: string, intervalMs: number): Promise<JobView> {
  const out = process.stderr;
  let last = '';
  for (;;) {
    const job = await client.request<JobView>('GET', `/api/jobs/${jobId}/progress`);
    const line = jobProgressLine(job);
    if (out.isTTY) out.write(`\r${line}\x1b[K`);
    else if (line !== last) out.write(`${line}\n`);
    last = line;
    if (job.status !== 'running') {
      if (out.isTTY) out.write('\n');
      return job;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const adminSites: Command = {
  name: 'admin sites',
  summary: 'list sites: status, connection, heartbeat, backend, dataset counts, privacy budget spent, last error',
  usage: `Usage: lgefed admin sites [--json]\n  ${CONNECTION_USAGE}`,
  async run(args) {
    const o = parseOptions(args, { ...CONNECTION, json: { type: 'boolean' } }).values;
    const sites = await clientFrom(o).request<SiteView[]>('GET', '/api/console/sites');
    if (o.json) console.log(JSON.stringify(sites, null, 2));
    else
      console.log(
        table(
          ['site', 'status', 'online', 'heartbeat', 'backend', 'cases', 'ε spent', 'refusals', 'last error'],
          sites.map((s) => [
            s.name,
            s.status,
            s.presence?.connected ? 'yes' : 'no',
            s.presence?.connected ? seconds(s.presence.heartbeatAgeMs) : '—',
            s.presence?.capabilities?.mlBackend.replace('ML_BACKEND_', '') ?? '—',
            String(s.presence?.datasets.reduce((n, d) => n + d.caseCount, 0) ?? '—'),
            s.presence?.privacy ? `${s.presence.privacy.spentEpsilon}/${s.presence.privacy.budgetEpsilon}` : '—',
            String(s.policy.refusals),
            s.lastError ? `${s.lastError.type}: ${s.lastError.message}`.slice(0, 60) : '',
          ]),
        ),
      );
    return 0;
  },
};

export const adminSitesRekey: Command = {
  name: 'admin sites rekey',
  summary: "replace an enrolled site's key: the old key is refused at once, a new startup kit is issued (audited)",
  usage: `Usage: lgefed admin sites rekey --site NAME [--ttl-hours 72] [--out kit.json]
  ${CONNECTION_USAGE}

The site then removes site.private.jwk, site.public.jwk and enrolment.json from its state
directory and starts with the new kit: it makes a new key and enrols it with the new token.`,
  async run(args) {
    const o = parseOptions(args, { ...CONNECTION, site: { type: 'string' }, 'ttl-hours': { type: 'string' }, out: { type: 'string' } }).values;
    if (!o.site) throw new UsageError('--site is required');
    const ttlHours = Number(o['ttl-hours'] ?? 72);
    if (!(ttlHours > 0)) throw new UsageError('--ttl-hours must be positive');
    const kit = await clientFrom(o).request<StartupKit>('POST', `/api/sites/${encodeURIComponent(o.site)}/rekey`, { ttlHours });
    await writeStartupKit(kit, o.out);
    return 0;
  },
};

export const adminJobs: Command = {
  name: 'admin jobs',
  summary: 'list jobs with their names, or one (--job), follow one with a progress bar (--watch), cancel (--cancel), re-run (--rerun)',
  usage: `Usage: lgefed admin jobs [--json] [--job JOB] [--watch JOB] [--cancel JOB] [--rerun JOB [--watch]]\n  ${CONNECTION_USAGE}

JOB is a job's id or its name (a name that more than one job has is refused: give the id).`,
  async run(args) {
    const o = parseOptions(args, { ...CONNECTION, json: { type: 'boolean' }, job: { type: 'string' }, watch: { type: 'string' }, cancel: { type: 'string' }, rerun: { type: 'string' }, 'interval-ms': { type: 'string' } }).values;
    const client = clientFrom(o);
    const interval = Number(o['interval-ms'] ?? 1000);
    if (o.cancel) {
      const job = await client.request<{ id: string; name: string; status: string }>('POST', `/api/jobs/${await jobIdOf(client, o.cancel)}/cancel`);
      console.log(`job “${job.name}” (${job.id}) ${job.status}`);
      return 0;
    }
    if (o.rerun) {
      const id = await jobIdOf(client, o.rerun);
      const job = await client.request<{ id: string }>('POST', `/api/jobs/${id}/rerun`);
      console.log(`re-run of ${id} submitted as job ${job.id}`);
      return 0;
    }
    if (o.watch) {
      const job = await watchJob(client, await jobIdOf(client, o.watch), interval);
      if (job.failure) console.error(job.failure);
      return job.status === 'completed' ? 0 : 1;
    }
    const all = await client.request<JobView[]>('GET', '/api/console/jobs');
    const jobs = o.job ? [pickJob(all, o.job)] : all;
    if (o.json) console.log(JSON.stringify(jobs, null, 2));
    else console.log(table(['id', 'name', 'kind', 'status', 'rounds', 'submitted', 'by', 'failure'], jobs.map((j) => [j.id, j.name, j.kind, j.status, `${j.rounds.filter((r) => r.status === 'completed').length}/${j.plannedRounds ?? '?'}`, new Date(j.createdAt).toISOString().slice(0, 19), j.submittedBy, j.failure ?? ''])));
    return 0;
  },
};

export const adminResults: Command = {
  name: 'admin results',
  summary: "print a job's figures as tables (or CSV/JSON): cross-site Dice, curves, harmonisation, fine-tuning",
  usage: `Usage: lgefed admin results --job JOB [--format table|csv|json] [--figure ID]\n  ${CONNECTION_USAGE}

JOB is a job's id or its name (a name that more than one job has is refused: give the id).
--figure picks one figure (e.g. cross-site-dice). With --format csv, stdout holds only CSV (one
table per figure, separated by a blank line); the job line and figure titles go to stderr.`,
  async run(args) {
    const o = parseOptions(args, { ...CONNECTION, job: { type: 'string' }, format: { type: 'string' }, figure: { type: 'string' } }).values;
    if (!o.job) throw new UsageError('--job is required');
    const format = o.format ?? 'table';
    if (!['table', 'csv', 'json'].includes(format)) throw new UsageError('--format is table, csv or json');
    const client = clientFrom(o);
    const report = await client.request<JobFigures>('GET', `/api/jobs/${await jobIdOf(client, o.job)}/figures`);
    const figures = o.figure ? report.figures.filter((f) => f.id === o.figure) : report.figures;
    if (o.figure && figures.length === 0) throw new UsageError(`job ${o.job} has no figure ${o.figure} (it has: ${report.figures.map((f) => f.id).join(', ') || 'none yet'})`);
    if (format === 'json') {
      console.log(JSON.stringify(o.figure ? figures[0] : report, null, 2));
      return 0;
    }
    // CSV on stdout must stay machine-readable: everything else is for the person, on stderr.
    const say = format === 'csv' ? (line: string) => console.error(line) : (line: string) => console.log(line);
    say(`${report.job.kind} “${report.job.name}” ${report.job.id}: ${report.job.status}${report.job.failure ? ` (${report.job.failure})` : ''}`);
    for (const e of report.excluded) say(`excluded ${e.site} in ${e.round}: ${e.reason ?? ''}`);
    for (const [i, figure] of figures.entries()) {
      say(`${format === 'csv' ? '' : '\n'}# ${figure.title}${format === 'csv' ? '' : '\n'}`);
      const csv = figureCsv(figure).trim();
      if (format === 'csv') console.log(`${i > 0 ? '\n' : ''}${csv}`);
      else if (csv === '') console.log(csv);
      else {
        const [head, ...rows] = csv.split('\n').map((l) => l.split(','));
        console.log(table(head!, rows.map((r) => r.map((c) => (/^-?\d+\.\d{4,}$/.test(c) ? Number(c).toFixed(4) : c)))));
      }
    }
    if (report.figures.length === 0) say('no figures yet: no round of this job has completed');
    return 0;
  },
};

export const adminAudit: Command = {
  name: 'admin audit',
  summary: 'print the audit log, filtered by type, subject or text',
  usage: `Usage: lgefed admin audit [--type TYPE] [--subject ID] [--grep TEXT] [--after SEQ] [--limit N] [--json]\n  ${CONNECTION_USAGE}`,
  async run(args) {
    const o = parseOptions(args, { ...CONNECTION, type: { type: 'string' }, subject: { type: 'string' }, grep: { type: 'string' }, after: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }).values;
    const after = Number(o.after ?? 0);
    const limit = Number(o.limit ?? 500);
    if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1) throw new UsageError('--after and --limit are non-negative integers');
    const events = await clientFrom(o).request<{ seq: number; at: number; actor: string; type: string; subject: string | null; details: unknown }[]>('GET', `/api/audit?after=${after}&limit=${limit}`);
    const grep = o.grep?.toLowerCase();
    const shown = events.filter((e) => (!o.type || e.type === o.type) && (!o.subject || e.subject === o.subject) && (!grep || JSON.stringify(e).toLowerCase().includes(grep)));
    if (o.json) console.log(JSON.stringify(shown, null, 2));
    else console.log(table(['seq', 'time', 'actor', 'type', 'subject', 'details'], shown.map((e) => [String(e.seq), new Date(e.at).toISOString().slice(0, 19), e.actor, e.type, e.subject ?? '', JSON.stringify(e.details).slice(0, 80)])));
    return 0;
  },
};

export const adminAuditVerify: Command = {
  name: 'admin audit verify',
  summary: "recompute the audit log's hash chain; exit 1 naming the first event that does not match",
  usage: `Usage: lgefed admin audit verify\n  ${CONNECTION_USAGE}`,
  async run(args) {
    const o = parseOptions(args, CONNECTION).values;
    const result = await clientFrom(o).request<{ intact: boolean; firstBrokenSeq: number | null; events: number }>('GET', '/api/audit/verify');
    if (result.intact) console.log(`audit chain intact (${result.events} events)`);
    else console.error(`audit chain broken at event ${result.firstBrokenSeq} of ${result.events}: that event or the one before it was changed outside the coordinator`);
    return result.intact ? 0 : 1;
  },
};

export const adminTokenRevoke: Command = {
  name: 'admin token revoke',
  summary: 'revoke an admin token (by its id, as audited in admin.token_issued, or the token itself)',
  usage: `Usage: lgefed admin token revoke TOKEN_ID|JWT [--reason TEXT]
  ${CONNECTION_USAGE}

The coordinator keeps the id in its revocation list and refuses the token from then on.`,
  async run(args) {
    const { values, positionals } = parseOptions(args, { ...CONNECTION, reason: { type: 'string' } }, true);
    if (positionals.length !== 1) throw new UsageError('give exactly one token id or token');
    const result = await clientFrom(values).request<{ tokenId: string; alreadyRevoked: boolean }>('POST', '/api/admin-tokens/revoke', { token: positionals[0], ...(values.reason ? { reason: values.reason } : {}) });
    console.log(`admin token ${result.tokenId} ${result.alreadyRevoked ? 'was already revoked' : 'revoked'}`);
    return 0;
  },
};

export const adminCommands: readonly Command[] = [adminSites, adminSitesRekey, adminJobs, adminResults, adminAudit, adminAuditVerify, adminTokenRevoke];
