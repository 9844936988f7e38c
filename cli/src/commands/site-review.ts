import { parseArgs } from 'node:util';
import { LAYOUTS, type Layout } from '@lgefed/shared/imaging/layouts';
import { analyseSite } from '@lgefed/site-agent/review/analysis';
import { startReviewServer } from '@lgefed/site-agent/review/server';
import { UsageError, type Command } from '../command.js';

export const siteReview: Command = {
  name: 'site review',
  summary: "review a model on the site's own images in the browser (localhost only; nothing is sent anywhere)",
  usage: `Usage: lgefed site review --model DIR --data DIR [--layout auto|${LAYOUTS.join('|')}] [--port 0]
                         [--reference profile.json] [--flag-wasserstein 0.05]

Runs the model over every case in --data on this machine, then serves a page on 127.0.0.1 with
each case and the model's segmentation overlaid (niivue), Dice/HD95 where labels exist, and each
case's intensity distribution against the site's own (or --reference's). The port is a free one
unless --port names it; the printed address carries a random session token and nothing is served
without it, nor to a page that names another host. Ctrl-C stops it.`,
  async run(args) {
    let o: { model?: string; data?: string; layout?: string; port?: string; reference?: string; 'flag-wasserstein'?: string };
    try {
      o = parseArgs({ args, options: { model: { type: 'string' }, data: { type: 'string' }, layout: { type: 'string' }, port: { type: 'string' }, reference: { type: 'string' }, 'flag-wasserstein': { type: 'string' } }, strict: true }).values;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!o.model || !o.data) throw new UsageError('--model and --data are required');
    const layout = (o.layout ?? 'auto') as Layout | 'auto';
    if (layout !== 'auto' && !LAYOUTS.includes(layout)) throw new UsageError(`--layout must be auto or one of ${LAYOUTS.join(', ')}`);
    const port = Number(o.port ?? 0);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0-65535');
    const flagWasserstein = Number(o['flag-wasserstein'] ?? 0.05);
    if (!(flagWasserstein > 0)) throw new UsageError('--flag-wasserstein must be positive');
    const review = await analyseSite({
      modelDir: o.model,
      dataDir: o.data,
      layout,
      flagWasserstein,
      ...(o.reference ? { referenceFile: o.reference } : {}),
      onProgress: (done, total, caseId) => process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}predicted ${done}/${total} (${caseId})${process.stderr.isTTY ? '\x1b[K' : '\n'}`),
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    const server = await startReviewServer({ port, host: '127.0.0.1', ...review });
    console.log(`site review on ${server.url} (${review.cases.length} cases, ${review.metrics.size} with labels; local only; the address is the key: do not share it)`);
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    await server.close();
    return 0;
  },
};
