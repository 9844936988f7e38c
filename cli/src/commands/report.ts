import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { openCoordinatorState } from '@lgefed/coordinator/state';
import { jobFigures, type JobFigures } from '@lgefed/coordinator/report/job-figures';
import { writeReport } from '@lgefed/coordinator/report/html-report';
import { attestReport, verifyReportAttestation } from '@lgefed/coordinator/report/signed-report';
import { UsageError, type Command } from '../command.js';
import { clientFrom, jobIdOf, pickJob } from './admin.js';

interface Connection {
  url?: string;
  token?: string;
  state?: string;
}

/** The job's figures (job given by id or name) with the coordinator's attestation, from its API or straight from its state directory. */
async function signedFiguresOf(job: string, o: Connection): Promise<{ figures: JobFigures; attestation: string }> {
  if (o.state) {
    const state = await openCoordinatorState(o.state);
    try {
      const figures = jobFigures(state.jobs, pickJob(state.jobs.jobs(), job).id, (id) => state.sites.get(id)?.name ?? id, state.sites.list().map((s) => s.name));
      return { figures, attestation: await attestReport(figures, state.audit.head(), state.key) };
    } finally {
      state.close();
    }
  }
  const client = clientFrom(o);
  return client.request('GET', `/api/jobs/${encodeURIComponent(await jobIdOf(client, job))}/signed-report`);
}

function parse<T>(args: readonly string[], options: Record<string, { type: 'string' }>): T {
  try {
    return parseArgs({ args: [...args], options, strict: true }).values as T;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export const report: Command = {
  name: 'report',
  summary: "write a job's self-contained HTML report (plots embedded), CSV/JSON of every figure, and the coordinator's signature",
  usage: `Usage: lgefed report --job JOB --out DIR [--url URL --token JWT | --state DIR]

JOB is a job's id or its name (a name that more than one job has is refused: give the id).

Writes DIR/index.html (every plot embedded as SVG, no external resource), DIR/report.json,
DIR/figures/<figure>.csv|json with each figure's data, and DIR/report.jws: the coordinator's
Ed25519 signature over report.json's SHA-256 and the audit chain's head at that moment (check it
with lgefed report verify). Reads the job through the coordinator's REST API (--url, default
$LGEFED_URL; --token, default $LGEFED_TOKEN) or, on the coordinator's own machine, from its state
directory (--state).`,
  async run(args) {
    const o = parse<Connection & { job?: string; out?: string }>(args, { job: { type: 'string' }, out: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, state: { type: 'string' } });
    if (!o.job || !o.out) throw new UsageError('--job and --out are required');
    if (o.state && (o.url || o.token)) throw new UsageError('give either --state or --url/--token');
    const { figures, attestation } = await signedFiguresOf(o.job, o);
    const written = await writeReport(o.out, figures, attestation);
    console.log(`report for ${figures.job.kind} job “${figures.job.name}” ${figures.job.id} (${figures.job.status}): ${figures.figures.length} figure(s), ${written.length} files in ${o.out}, signed by the coordinator`);
    return 0;
  },
};

export const reportVerify: Command = {
  name: 'report verify',
  summary: "check a written report against the coordinator's signature and, online, its audit chain",
  usage: `Usage: lgefed report verify --dir DIR (--key COORDINATOR_PUBLIC_JWK | --url URL --token JWT)

Checks that DIR/report.jws is the coordinator's signature (its federation key: the public JWK in
every site's startup kit, or fetched with --url/--token) over DIR/report.json as it stands. With
--url/--token it also checks the audit chain is intact and its event at the signed position carries
the signed hash, so the report is anchored in the append-only log. Exit 1 when anything differs.`,
  async run(args) {
    const o = parse<Connection & { dir?: string; key?: string }>(args, { dir: { type: 'string' }, key: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' } });
    if (!o.dir) throw new UsageError('--dir is required');
    if (!o.key === !(o.url || o.token || process.env['LGEFED_TOKEN'])) throw new UsageError('give either --key or --url/--token');
    const client = o.key ? undefined : clientFrom(o);
    const publicJwk = o.key ? (JSON.parse(await readFile(o.key, 'utf8')) as JWK) : (await client!.request<{ publicJwk: JWK }>('GET', '/api/identity')).publicJwk;
    const [jws, reportText] = await Promise.all([readFile(join(o.dir, 'report.jws'), 'utf8'), readFile(join(o.dir, 'report.json'), 'utf8')]);
    const attested = await verifyReportAttestation(jws, publicJwk, reportText);
    console.log(`report.json is as the coordinator signed it: ${attested.kind} job ${attested.jobId} (${attested.status}), signed ${new Date(attested.iat * 1000).toISOString()} at audit event ${attested.audit.seq}`);
    if (!client) return 0;
    const chain = await client.request<{ intact: boolean; firstBrokenSeq: number | null }>('GET', '/api/audit/verify');
    const [event] = await client.request<{ seq: number; hash: string }[]>('GET', `/api/audit?after=${attested.audit.seq - 1}&limit=1`);
    if (!chain.intact || event?.seq !== attested.audit.seq || event.hash !== attested.audit.hash) {
      console.error(`the audit log does not hold the signed head: ${chain.intact ? `event ${attested.audit.seq} has hash ${event?.hash ?? 'none'}, the report signed ${attested.audit.hash}` : `the chain breaks at event ${chain.firstBrokenSeq}`}`);
      return 1;
    }
    console.log(`the audit chain is intact and event ${attested.audit.seq} carries the signed hash`);
    return 0;
  },
};
