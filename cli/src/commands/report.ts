import { openCoordinatorState } from '@lgefed/coordinator/state';
import { jobFigures, type JobFigures } from '@lgefed/coordinator/report/job-figures';
import { writeReport } from '@lgefed/coordinator/report/html-report';
import { parseArgs } from 'node:util';
import { UsageError, type Command } from '../command.js';
import { clientFrom } from './admin.js';

/** The job's figures from a running coordinator's API, or straight from its state directory. */
async function figuresOf(jobId: string, o: { url?: string; token?: string; state?: string }): Promise<JobFigures> {
  if (o.state) {
    const state = await openCoordinatorState(o.state);
    try {
      return jobFigures(state.jobs, jobId, (id) => state.sites.get(id)?.name ?? id, state.sites.list().map((s) => s.name));
    } finally {
      state.close();
    }
  }
  return clientFrom(o).request<JobFigures>('GET', `/api/jobs/${encodeURIComponent(jobId)}/figures`);
}

export const report: Command = {
  name: 'report',
  summary: "write a job's self-contained HTML report (plots embedded) and CSV/JSON of every figure",
  usage: `Usage: lgefed report --job ID --out DIR [--url URL --token JWT | --state DIR]

Writes DIR/index.html (every plot embedded as SVG, no external resource), DIR/report.json and
DIR/figures/<figure>.csv|json with each figure's data. Reads the job through the coordinator's
REST API (--url, default $LGEFED_URL; --token, default $LGEFED_TOKEN) or, on the coordinator's
own machine, from its state directory (--state).`,
  async run(args) {
    let o: { job?: string; out?: string; url?: string; token?: string; state?: string };
    try {
      o = parseArgs({ args, options: { job: { type: 'string' }, out: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, state: { type: 'string' } }, strict: true }).values;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!o.job || !o.out) throw new UsageError('--job and --out are required');
    if (o.state && (o.url || o.token)) throw new UsageError('give either --state or --url/--token');
    const figures = await figuresOf(o.job, o);
    const written = await writeReport(o.out, figures);
    console.log(`report for ${figures.job.kind} job ${figures.job.id} (${figures.job.status}): ${figures.figures.length} figure(s), ${written.length} files in ${o.out}`);
    return 0;
  },
};
