/** Worker-thread side of `Predictor`: holds one model on the engine and answers volume predictions. */
import { parentPort } from 'node:worker_threads';
import type { LabelVolume } from '../types.js';
import { predictVolume } from './predict.js';
import type { PredictorReply, PredictorRequest } from './predict-protocol.js';
import type { ProbabilityEngine } from './probability-engine.js';
import type { UNetSpec } from './spec.js';
import { loadProbabilityEngine } from './inference-choice.js';

if (!parentPort) throw new Error('predict-worker must run as a worker thread');
const port = parentPort;
let loaded: { engine: ProbabilityEngine; spec: UNetSpec } | undefined;

function reply(message: PredictorReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

async function handle(request: PredictorRequest): Promise<void> {
  switch (request.type) {
    case 'load': {
      const engine = await loadProbabilityEngine(request.spec, request.weights, {
        ...(request.inference ? { inference: request.inference } : {}),
        ...(request.backend ? { backend: request.backend } : {}),
        ...(request.threads ? { threads: request.threads } : {}),
        log: (line) => reply({ type: 'log', line }),
      });
      loaded = { engine, spec: request.spec };
      reply({ type: 'loaded', id: request.id, engine: engine.name });
      return;
    }
    case 'predict': {
      if (!loaded) throw new Error('no model loaded');
      const label: LabelVolume = await predictVolume(loaded.engine, loaded.spec, request.image, request.options);
      reply({ type: 'predicted', id: request.id, label }, [label.data.buffer as ArrayBuffer]);
      return;
    }
  }
}

port.on('message', (request: PredictorRequest) => {
  handle(request).catch((error: Error) => reply({ type: 'failed', id: request.id, name: error.name, message: error.message }));
});
