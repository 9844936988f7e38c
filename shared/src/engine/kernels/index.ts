/** The training kernels we add to (or replace in) the wasm backend, registered in one place. */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';

let registered = false;

/** Names of the kernels `registerWasmTrainingKernels` installs. */
export const WASM_TRAINING_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput'] as const;

/** Installs our kernels for the `wasm` backend (idempotent). Safe before or after the backend starts. */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const original = getKernel('Conv2DBackpropInput', 'wasm');
  const configs: KernelConfig[] = [conv2dBackpropFilterConfig, conv2dBackpropInputConfig(original)];
  for (const config of configs) {
    if (getKernel(config.kernelName, 'wasm')) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
  registered = true;
}
