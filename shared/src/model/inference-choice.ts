/**
 * Which engine runs inference. Native onnxruntime runs the U-Net several times faster than tfjs on
 * a CPU, so it is the default wherever it loads; tfjs is the fallback, and the choice when a tfjs
 * backend (e.g. tensorflow-gpu) is asked for by name.
 */
import { initEngine, resolveBackend, resolveThreads, type BackendRequest } from '../engine/index.js';
import { OnnxProbabilityEngine } from '../onnx/onnx-engine.js';
import { OnnxUnavailableError } from '../onnx/onnx-runtime.js';
import type { ProbabilityEngine } from './probability-engine.js';
import type { UNetSpec } from './spec.js';
import { TfjsProbabilityEngine } from './tfjs-engine.js';
import { UNet } from './unet.js';
import type { NamedTensor } from './weights.js';

export const INFERENCE_REQUESTS = ['auto', 'onnxruntime', 'tfjs'] as const;
export type InferenceRequest = (typeof INFERENCE_REQUESTS)[number];

export class InferenceChoiceError extends Error {
  override readonly name = 'InferenceChoiceError';
}

export interface InferenceChoiceOptions {
  /** Default: `LGEFED_INFERENCE`, else 'auto'. */
  readonly inference?: InferenceRequest;
  /** A tfjs backend; naming one (here or in `LGEFED_BACKEND`) under 'auto' picks tfjs. */
  readonly backend?: BackendRequest;
  readonly threads?: number;
  readonly log: (line: string) => void;
}

function inferenceRequest(requested: InferenceRequest | undefined): InferenceRequest {
  const fromEnv = process.env['LGEFED_INFERENCE'];
  const value = requested ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'auto');
  if (!(INFERENCE_REQUESTS as readonly string[]).includes(value)) throw new InferenceChoiceError(`unknown inference engine "${value}" (expected ${INFERENCE_REQUESTS.join(', ')})`);
  return value as InferenceRequest;
}

/** Loads the model on the chosen engine; 'onnxruntime' asked by name fails loudly when it cannot load. */
export async function loadProbabilityEngine(spec: UNetSpec, weights: readonly NamedTensor[], options: InferenceChoiceOptions): Promise<ProbabilityEngine> {
  const request = inferenceRequest(options.inference);
  const backend = resolveBackend(options.backend);
  let fallbackReason = request === 'tfjs' ? 'tfjs asked for' : `tfjs backend ${backend} asked for`;
  if (request === 'onnxruntime' || (request === 'auto' && backend === 'auto')) {
    try {
      const engine = await OnnxProbabilityEngine.load(spec, weights, { threads: resolveThreads(options.threads) });
      options.log(`inference engine: ${engine.name}`);
      return engine;
    } catch (error) {
      if (request === 'onnxruntime' || !(error instanceof OnnxUnavailableError)) throw error;
      fallbackReason = error.message;
    }
  }
  const engine = await initEngine({ backend, ...(options.threads ? { threads: options.threads } : {}), log: options.log });
  options.log(`inference engine: tfjs ${engine.backend} (${fallbackReason})`);
  return new TfjsProbabilityEngine(new UNet(spec, weights), `tfjs ${engine.backend}`);
}
