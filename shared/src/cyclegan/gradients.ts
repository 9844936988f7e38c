/**
 * Gradients for the few kernels the CycleGAN uses beyond the U-Net's (tfjs-core's Node bundle ships
 * none; the model package registers the U-Net's). Same maths as tfjs-core's gradient configs; a
 * gradient that is already registered is left in place.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingGradients } from '../model/gradients.js';

const configs: tf.GradConfig[] = [
  {
    kernelName: 'Tanh',
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved as tf.Tensor[];
      return { x: () => tf.mul(dy as tf.Tensor, tf.sub(1, tf.square(y!))) };
    },
  },
  {
    kernelName: 'Abs',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return { x: () => tf.mul(dy as tf.Tensor, tf.sign(x!)) };
    },
  },
  {
    // tf.moments (instance norm) squares deviations.
    kernelName: 'Square',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return { x: () => tf.mul(dy as tf.Tensor, tf.mul(x!, 2)) };
    },
  },
  {
    kernelName: 'Rsqrt',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      // d/dx x^(-1/2) = -1/2 x^(-3/2)
      return { x: () => tf.div(dy as tf.Tensor, tf.mul(tf.pow(x!, 1.5), -2)) };
    },
  },
  {
    kernelName: 'SquaredDifference',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as tf.Tensor[];
      const twoDiff = tf.mul(tf.sub(a!, b!), 2);
      const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
      const reduce = (g: tf.Tensor, shape: number[]): tf.Tensor => {
        const axes = tf.broadcast_util.getReductionAxes(shape, outShape);
        return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape);
      };
      return { a: () => reduce(tf.mul(dy as tf.Tensor, twoDiff), a!.shape), b: () => reduce(tf.mul(dy as tf.Tensor, tf.neg(twoDiff)), b!.shape) };
    },
  },
];

let registered = false;

/** Registers the U-Net's gradients and these, once per thread. */
export function registerCycleGanGradients(): void {
  if (registered) return;
  registerTrainingGradients();
  for (const config of configs) if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  registered = true;
}
