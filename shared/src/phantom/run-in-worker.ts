import { Worker } from 'node:worker_threads';
import { DataError, type DataErrorCode } from '../imaging/errors.js';
import type { PhantomSiteOptions, PhantomSiteSummary } from './site.js';

/** writePhantomSite in a worker thread, so a service (the demo, an agent) keeps serving while it generates. */
export function writePhantomSiteInWorker(options: PhantomSiteOptions): Promise<PhantomSiteSummary> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: options });
    worker.once('message', (m: { summary?: PhantomSiteSummary; error?: { message: string; code?: DataErrorCode; file?: string } }) => {
      if (m.summary) resolve(m.summary);
      else if (m.error?.code) reject(new DataError(m.error.code, m.error.file ?? options.out, m.error.message.replace(`${m.error.file}: `, '')));
      else reject(new Error(m.error?.message ?? 'phantom worker failed'));
    });
    worker.once('error', reject);
  });
}
