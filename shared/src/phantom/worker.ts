import { parentPort, workerData } from 'node:worker_threads';
import { writePhantomSite, type PhantomSiteOptions } from './site.js';

/** Runs one phantom site off the caller's event loop; replies {summary} or {error}. */
writePhantomSite(workerData as PhantomSiteOptions).then(
  (summary) => parentPort!.postMessage({ summary }),
  (err: Error & { code?: string; file?: string }) => parentPort!.postMessage({ error: { message: err.message, code: err.code, file: err.file } }),
);
