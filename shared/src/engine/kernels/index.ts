/** The training kernels we add to (or replace in) the wasm backend, registered in one place. */
import { backend, getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { adamUpdateConfig } from './adam.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { conv2dConfig } from './conv2d-winograd.js';
import { INSTANCE_NORM_ACT, INSTANCE_NORM_ACT_GRAD, instanceNormActConfigs, registerInstanceNormActGradient } from './instance-norm-act.js';
import { simdUnavailable } from './simd.js';
import { EngineError } from '../errors.js';
import { softmaxDiceLossConfig } from './softmax-dice.js';
import { startKernelPool } from './kernel-pool.js';
import { WasmHeap } from './wasm-heap.js';
import { concatChannelsConfig, sliceChannelsConfig, splitChannelsConfig, sumOverPixelsConfig } from './channel-axis.js';

export { simdNote } from './simd.js';

let registered = false;
let fusedRegistered = false;

function replace(config: KernelConfig): void {
  if (getKernel(config.kernelName, config.backendName)) unregisterKernel(config.kernelName, config.backendName);
  registerKernel(config);
}

/** Installs the fused instance-norm + LeakyReLU kernels (wasm and cpu) and their gradient (idempotent). */
export function registerFusedKernels(): void {
  if (fusedRegistered) return;
  for (const config of instanceNormActConfigs) replace(config);
  registerInstanceNormActGradient();
  fusedRegistered = true;
}

/** Names of the kernels `registerWasmTrainingKernels` always installs (ADAM_UPDATE too where SIMD runs). */
export const WASM_TRAINING_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', INSTANCE_NORM_ACT, INSTANCE_NORM_ACT_GRAD] as const;

/**
 * Installs our kernels for the `wasm` backend (idempotent); the Adam update, the loss, the channel
 * split, concatenation and slice, and Winograd 3x3 convolutions only where the SIMD kernels run. Safe before or after the backend starts.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const original = getKernel('Conv2DBackpropInput', 'wasm');
  const configs: KernelConfig[] = [conv2dBackpropFilterConfig, conv2dBackpropInputConfig(original)];
  if (simdUnavailable() === undefined) configs.push(adamUpdateConfig, softmaxDiceLossConfig, splitChannelsConfig(getKernel('SplitV', 'wasm')), concatChannelsConfig(getKernel('Concat', 'wasm')), sliceChannelsConfig(getKernel('Slice', 'wasm')), sumOverPixelsConfig(getKernel('Sum', 'wasm')), conv2dConfig(getKernel('Conv2D', 'wasm')));
  for (const config of configs) replace(config);
  registerFusedKernels();
  registered = true;
}

/**
 * Starts `helpers` threads for our SIMD kernels on the running wasm backend's shared memory (the
 * threaded build), so they use as many cores as XNNPACK does. Needs SIMD and shared memory.
 */
export async function startKernelHelpers(helpers: number): Promise<void> {
  const reason = simdUnavailable();
  if (reason !== undefined) throw new EngineError(reason);
  const memory = new WasmHeap(backend() as BackendWasm).memory;
  if (!memory) throw new EngineError('the wasm backend does not expose its memory');
  await startKernelPool(memory, helpers);
}
