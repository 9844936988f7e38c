/**
 * The loss of one segmentation head — mean cross-entropy + 1 - soft Dice averaged over the
 * foreground classes — and its gradient with respect to the logits, as one wasm kernel run by our
 * WebAssembly module (shared/wasm/softmax-dice.ts) in two passes over the pixels. Inputs: logits
 * and a target of the same [..., classes] shape (one-hot or soft); outputs [loss (scalar), d loss /
 * d logits]. The tfjs-op form of the same loss (shared/src/model/loss.ts) serves other backends.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../errors.js';
import { simdKernels } from './simd.js';
import { WasmHeap } from './wasm-heap.js';

export const SOFTMAX_DICE_LOSS = 'LgefedSoftmaxDiceLoss';

export interface SoftmaxDiceAttrs {
  /** Added to the Dice numerator and denominator (empty classes score 1, not 0/0). */
  readonly smooth: number;
}

export const softmaxDiceLossConfig: KernelConfig = {
  kernelName: SOFTMAX_DICE_LOSS,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { logits, target } = inputs as Record<'logits' | 'target', TensorInfo>;
    const { smooth } = attrs as unknown as SoftmaxDiceAttrs;
    if (logits.shape.length < 2 || logits.shape.length !== target.shape.length || logits.shape.some((d, i) => d !== target.shape[i])) {
      throw new EngineError(`${SOFTMAX_DICE_LOSS}: target is [${target.shape}], logits [${logits.shape}]; both must be [..., classes]`);
    }
    const classes = logits.shape[logits.shape.length - 1]!;
    if (classes < 2) throw new EngineError(`${SOFTMAX_DICE_LOSS}: needs a background and at least one foreground class, got ${classes}`);
    const pixels = logits.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const heap = new WasmHeap(backend as BackendWasm);
    const memory = heap.memory;
    const kernels = memory && simdKernels(memory);
    if (!kernels) throw new EngineError(`${SOFTMAX_DICE_LOSS} needs the WebAssembly kernels`);
    const loss = heap.allocate([]);
    const gradient = heap.allocate([...logits.shape]);
    // Scratch: the f64 sums (1 + 3 * classes doubles), then the coefficients a and b.
    const statsCount = 1 + 3 * classes;
    const scratch = heap.allocate([2 * statsCount + 2 * classes]);
    const [logitsAt, targetAt, lossAt, gradientAt, scratchAt] = heap.byteOffsets(logits, target, loss, gradient, scratch) as [number, number, number, number, number];
    kernels.softmaxDiceForward(logitsAt, targetAt, gradientAt, scratchAt, pixels, classes);
    const stats = new Float64Array(memory.buffer, scratchAt, statsCount).slice();
    const [intersection, probability, targetSum] = [1, 1 + classes, 1 + 2 * classes].map((at) => stats.subarray(at, at + classes));
    const foreground = classes - 1;
    const a = new Float32Array(classes);
    const b = new Float32Array(classes);
    let dice = 0;
    for (let c = 1; c < classes; c++) {
      const numerator = 2 * intersection[c]! + smooth;
      const denominator = probability[c]! + targetSum[c]! + smooth;
      dice += numerator / denominator / foreground;
      a[c] = -2 / (foreground * denominator);
      b[c] = numerator / (foreground * denominator * denominator);
    }
    const coefficientsAt = scratchAt + 8 * statsCount;
    const floats = new Float32Array(memory.buffer);
    floats.set(a, coefficientsAt / 4);
    floats.set(b, coefficientsAt / 4 + classes);
    floats[lossAt / 4] = stats[0]! / pixels + 1 - dice;
    kernels.softmaxDiceBackward(gradientAt, targetAt, gradientAt, coefficientsAt, coefficientsAt + 4 * classes, pixels, classes, 1 / pixels);
    heap.dispose(scratch);
    return [loss, gradient];
  },
};
