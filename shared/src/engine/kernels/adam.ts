/**
 * Adam's update of one variable as one wasm kernel, run by the WebAssembly SIMD module
 * (shared/wasm/adam.ts) in one pass over memory. Inputs: x, gradient, the moments m and v, and the
 * bias corrections 1 - beta1^t and 1 - beta2^t as float32 scalars; outputs [x', m', v'], with the
 * bits of the optimizer's op path (shared/src/model/adam.ts), which serves wherever this kernel is
 * not registered (no SIMD, other backends).
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../errors.js';
import { simdKernels } from './simd.js';
import { WasmHeap } from './wasm-heap.js';

export const ADAM_UPDATE = 'LgefedAdamUpdate';

export interface AdamUpdateAttrs {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly learningRate: number;
}

export const adamUpdateConfig: KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, gradient, m, v, correction1, correction2 } = inputs as Record<'x' | 'gradient' | 'm' | 'v' | 'correction1' | 'correction2', TensorInfo>;
    const { beta1, beta2, epsilon, learningRate } = attrs as unknown as AdamUpdateAttrs;
    const count = x.shape.reduce((a, b) => a * b, 1);
    for (const [name, t] of [['gradient', gradient], ['m', m], ['v', v]] as const) {
      if (t.shape.reduce((a, b) => a * b, 1) !== count) throw new EngineError(`${ADAM_UPDATE}: ${name} is [${t.shape}], expected [${x.shape}]`);
    }
    const heap = new WasmHeap(backend as BackendWasm);
    const memory = heap.memory;
    const simd = memory && simdKernels(memory);
    if (!simd) throw new EngineError(`${ADAM_UPDATE} needs the WebAssembly SIMD kernels`);
    const outputs = [heap.allocate([...x.shape]), heap.allocate([...x.shape]), heap.allocate([...x.shape])];
    const p = heap.byteOffsets(x, gradient, m, v, ...outputs, correction1, correction2);
    // The scalars are rounded to float32 on the way in, as tfjs rounds a number it multiplies by.
    simd.adamUpdate(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!, count, beta1, 1 - beta1, beta2, 1 - beta2, p[7]!, p[8]!, epsilon, -learningRate);
    return outputs;
  },
};
