import { parentPort } from 'node:worker_threads';
import { BatchAssembler } from './batch.js';
import type { FromWorker, ToWorker } from './prefetch-protocol.js';
import { unpackSamples } from './prefetch-protocol.js';

/** Worker side of the prefetching provider: assembles one batch per 'next' request, in order. */
if (!parentPort) throw new Error('prefetch-worker must run as a worker thread');
const port = parentPort;
let assembler: BatchAssembler | undefined;

port.on('message', (message: ToWorker) => {
  try {
    if (message.type === 'init') {
      assembler = new BatchAssembler(unpackSamples(message.samples), message.options, message.startIteration);
      return;
    }
    if (!assembler) throw new Error("'next' before 'init'");
    const batch = assembler.next();
    const reply: FromWorker = { type: 'batch', batch };
    // Freshly allocated per batch, so the buffers can move to the main thread without a copy.
    port.postMessage(reply, [batch.images.buffer as ArrayBuffer, batch.labels.buffer as ArrayBuffer]);
  } catch (err) {
    const reply: FromWorker = { type: 'error', message: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
