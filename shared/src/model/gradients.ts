/**
 * Gradients for the kernels the U-Net and its loss use. tfjs-core's Node bundle ships without
 * gradient registrations (only the `@tensorflow/tfjs` umbrella package adds them), and its
 * per-kernel gradient files are extensionless ESM that Node cannot load; these follow the same
 * maths as tfjs-core's own gradient configs. A gradient that is already registered (for example by
 * `@tensorflow/tfjs-node`) is left in place.
 */
import * as tf from '@tensorflow/tfjs-core';

type Saved = tf.Tensor[];
type Gradient = () => tf.Tensor;

/** Kernels with a list of inputs name them by position. */
function byInputIndex(gradients: Gradient[]): Record<string, Gradient> {
  return Object.fromEntries(gradients.map((g, i) => [String(i), g]));
}
type Attrs = tf.NamedAttrMap;

/** Reduces a broadcast gradient back to an operand's shape. */
function unbroadcast(dy: tf.Tensor, shape: number[], outShape: number[]): tf.Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, outShape);
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape);
}

function binary(kernelName: string, grad: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => [tf.Tensor, tf.Tensor]): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
      return {
        a: () => unbroadcast(grad(dy as tf.Tensor, a!, b!)[0], a!.shape, outShape),
        b: () => unbroadcast(grad(dy as tf.Tensor, a!, b!)[1], b!.shape, outShape),
      };
    },
  };
}

/** Gradient of a reduction: dy broadcast back over the reduced axes, times `scale`. */
function reduction(kernelName: string, scaled: boolean): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Saved;
      const axes = tf.util.parseAxisParam((attrs as Attrs)['axis'] as number | number[], x!.shape);
      const expanded = x!.shape.slice();
      for (const axis of axes) expanded[axis] = 1;
      const count = scaled ? axes.reduce((n, axis) => n * x!.shape[axis]!, 1) : 1;
      return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, expanded), tf.fill(x!.shape, 1 / count)) };
    },
  };
}

const configs: tf.GradConfig[] = [
  binary('Add', (dy) => [dy, dy]),
  binary('Sub', (dy) => [dy, tf.neg(dy)]),
  binary('Multiply', (dy, a, b) => [tf.mul(dy, b), tf.mul(dy, a)]),
  binary('RealDiv', (dy, a, b) => [tf.div(dy, b), tf.neg(tf.div(tf.mul(dy, a), tf.square(b)))]),
  {
    kernelName: 'AddN',
    saveAllInputs: true,
    gradFunc: (dy, saved) => byInputIndex((saved as Saved).map(() => () => (dy as tf.Tensor).clone())),
  },
  { kernelName: 'Neg', gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
  { kernelName: 'Cast', gradFunc: (dy) => ({ x: () => (dy as tf.Tensor).clone() }) },
  {
    kernelName: 'Reshape',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.reshape(dy as tf.Tensor, (saved as Saved)[0]!.shape) }),
  },
  reduction('Sum', false),
  reduction('Mean', true),
  {
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Saved;
      const alpha = (attrs as Attrs)['alpha'] as number;
      return { x: () => tf.where(tf.greater(x!, 0), dy as tf.Tensor, tf.mul(dy as tf.Tensor, alpha)) };
    },
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const inputs = saved as Saved;
      const axis = tf.util.parseAxisParam((attrs as Attrs)['axis'] as number, inputs[0]!.shape)[0]!;
      const parts = tf.split(dy as tf.Tensor, inputs.map((t) => t.shape[axis]!), axis);
      return byInputIndex(parts.map((part) => () => part));
    },
  },
  {
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Saved;
      const [begin, size] = tf.slice_util.parseSliceParams(x!, (attrs as Attrs)['begin'] as number[], (attrs as Attrs)['size'] as number[]);
      const paddings = x!.shape.map((dim, i) => [begin[i]!, dim - begin[i]! - size[i]!] as [number, number]);
      return { x: () => tf.pad(dy as tf.Tensor, paddings) };
    },
  },
  {
    kernelName: 'Softmax',
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [y] = saved as Saved;
      const dim = (attrs as Attrs)['dim'] as number;
      const dyTimesY = tf.mul(dy as tf.Tensor, y!);
      return { logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y!)) };
    },
  },
  {
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const { strides, pad, dataFormat, dimRoundingMode } = attrs as Attrs;
      return {
        x: () =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: dy as tf.Tensor, filter }, { strides, pad, dataFormat, dimRoundingMode, inputShape: x.shape }) as tf.Tensor,
        filter: () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy as tf.Tensor }, { strides, pad, dataFormat, dimRoundingMode, filterShape: filter.shape }) as tf.Tensor,
      };
    },
  },
  {
    kernelName: 'Conv2DBackpropInput',
    inputsToSave: ['dy', 'filter'],
    gradFunc: (ddx, saved, attrs) => {
      const [dy, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const { strides, pad, dataFormat, dimRoundingMode } = attrs as Attrs;
      return {
        dy: () =>
          tf.engine().runKernel('Conv2D', { x: ddx as tf.Tensor, filter }, { strides, pad, dataFormat, dilations: 1, dimRoundingMode }) as tf.Tensor,
        filter: () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x: ddx as tf.Tensor, dy }, { strides, pad, dataFormat, dimRoundingMode, filterShape: filter.shape }) as tf.Tensor,
      };
    },
  },
];

let registered = false;

/** Registers the gradients once per process (registrations are global to tfjs). */
export function registerTrainingGradients(): void {
  if (registered) return;
  for (const config of configs) {
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  }
  registered = true;
}
