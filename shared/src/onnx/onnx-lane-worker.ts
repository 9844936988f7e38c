/** An onnx lane's worker thread (see onnx-lanes.ts): one session, batches in, probabilities out. */
import { parentPort, workerData } from 'node:worker_threads';
import { RunsInFlight, type LaneReply, type LaneRequest, type LaneWorkerData } from './onnx-lanes.js';
import { importOrt, openSession, OnnxUnavailableError, runSession } from './onnx-runtime.js';

const { model, threads, classes } = workerData as LaneWorkerData;
const port = parentPort!;
const reply = (message: LaneReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

try {
  const ort = await importOrt();
  const session = await openSession(ort, model, threads);
  const inFlight = new RunsInFlight();
  port.on('message', (request: LaneRequest) => {
    if (request === 'release') {
      void inFlight
        .settled()
        .then(() => session.release())
        .finally(() => reply({ type: 'released' }));
      return;
    }
    inFlight.track(runSession(ort, session, request.images, request.n, request.size, classes)).then(
      (data) => reply({ type: 'result', id: request.id, data }, [data.buffer as ArrayBuffer]),
      (error: Error) => reply({ type: 'error', id: request.id, message: error.message }),
    );
  });
  reply({ type: 'ready' });
} catch (error) {
  reply({ type: 'failed', message: (error as Error).message, unavailable: error instanceof OnnxUnavailableError });
}
