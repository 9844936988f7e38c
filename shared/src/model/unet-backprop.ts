/**
 * Loss and parameter gradients of a U-Net with the backward pass written out, instead of tfjs's
 * tape. The tape keeps every saved tensor and every intermediate gradient until the whole backward
 * pass ends, which puts the `paper` network (256², batch 8) far beyond wasm's 4 GiB. Here the
 * forward pass keeps only what the backward pass reads (each norm's input and statistics, and the
 * input of each block; the activation between a block's two convs is recomputed) and the backward
 * pass frees each of those, and each gradient, as soon as it is consumed. Same kernels and maths as autodiff through `UNet.forward` (the loss part still goes
 * through tfjs autodiff: it is small); gradients are computed only where a trainable parameter
 * needs them (frozen leading blocks are not back-propagated into).
 */
import * as tf from '@tensorflow/tfjs-core';
import { instanceNormAct, instanceNormActGrad } from '../engine/ops/instance-norm-act.js';
import { stageFeatures } from './spec.js';
import { ModelInputError, NORM_EPSILON, type UNet } from './unet.js';
import { decoderBlockAtLevel, LEAKY_SLOPE } from './weights.js';

const NORM = { epsilon: NORM_EPSILON, alpha: LEAKY_SLOPE };

/** What the backward pass of one conv → norm → LeakyReLU needs. */
interface ConvNormSaved {
  readonly prefix: string;
  readonly stride: 1 | 2;
  /** Conv input; owned by whoever produced it. */
  readonly x: tf.Tensor4D;
  /** Conv output = norm input, and its statistics; owned here. */
  readonly y: tf.Tensor4D;
  readonly mean: tf.Tensor4D;
  readonly invStd: tf.Tensor4D;
}

/**
 * The second conv of a block: its input (the first conv's activation) is not kept but recomputed
 * from the first conv's saved norm input when the backward pass reaches it (one cheap fused pass).
 */
type SecondConvSaved = Omit<ConvNormSaved, 'x'>;

interface DecoderSaved {
  readonly level: number;
  readonly block: string;
  /** Input of the up-convolution (the deeper stage's output). */
  readonly below: tf.Tensor4D;
  readonly conv1: ConvNormSaved;
  readonly conv2: SecondConvSaved;
  /** Block output (input of the head and of the next up-convolution). */
  readonly out: tf.Tensor4D;
}

export interface LossAndGradients {
  readonly loss: tf.Scalar;
  /** Gradient per trainable parameter name. */
  readonly gradients: Record<string, tf.Tensor>;
}

/**
 * Forward on `levels`' heads, `lossOf(heads)` (which must only use tfjs ops on the heads), and the
 * gradients of that loss for the parameters named in `trainable`. Tensors not returned are freed.
 */
export function unetLossAndGradients(
  model: UNet,
  input: tf.Tensor4D,
  levels: readonly number[],
  lossOf: (heads: Map<number, tf.Tensor4D>) => tf.Scalar,
  trainable: ReadonlySet<string>,
): LossAndGradients {
  return new Backprop(model, trainable).run(input, levels, lossOf);
}

class Backprop {
  private readonly gradients: Record<string, tf.Tensor> = {};
  /** Forward-order index of the first block with a trainable parameter. */
  private readonly firstTrainable: number;

  constructor(
    private readonly model: UNet,
    private readonly trainable: ReadonlySet<string>,
  ) {
    const { stages } = model.spec;
    const blocks = [...Array.from({ length: stages }, (_, i) => `enc${i}`), ...Array.from({ length: stages - 1 }, (_, i) => `dec${i}`)];
    const first = blocks.findIndex((block) => [...trainable].some((name) => name.startsWith(`${block}.`)));
    this.firstTrainable = first < 0 ? Infinity : first;
  }

  run(input: tf.Tensor4D, levels: readonly number[], lossOf: (heads: Map<number, tf.Tensor4D>) => tf.Scalar): LossAndGradients {
    const { spec } = this.model;
    const [, height, width, channels] = input.shape;
    if (height !== spec.inputSize || width !== spec.inputSize || channels !== spec.inChannels) {
      throw new ModelInputError(`input is ${height}x${width}x${channels}, model expects ${spec.inputSize}x${spec.inputSize}x${spec.inChannels}`);
    }
    for (const level of levels) {
      if (!Number.isInteger(level) || level < 0 || level > spec.stages - 2) throw new ModelInputError(`decoder level ${level} outside 0..${spec.stages - 2}`);
    }
    const features = stageFeatures(spec);

    // Forward, keeping what the backward pass reads.
    const encoder: [ConvNormSaved, SecondConvSaved][] = [];
    const skips: tf.Tensor4D[] = [];
    let x = input;
    for (let stage = 0; stage < spec.stages; stage++) {
      const conv1 = this.convNorm(x, `enc${stage}.conv1`, stage === 0 ? 1 : 2);
      const conv2 = this.convNorm(conv1.out, `enc${stage}.conv2`, 1);
      conv1.out.dispose();
      x = conv2.out;
      encoder.push([conv1.saved, conv2.saved]);
      skips.push(x);
    }
    const decoder: DecoderSaved[] = [];
    const heads = new Map<number, tf.Tensor4D>();
    for (let level = spec.stages - 2; level >= 0; level--) {
      const block = `dec${decoderBlockAtLevel(spec, level)}`;
      const skip = skips[level]!;
      const [n, h, w] = skip.shape;
      const upConv = tf.conv2dTranspose(x, this.weight(`${block}.up.weight`), [n, h, w, features[level]!], 2, 'same');
      const up = tf.add(upConv, this.model.variable(`${block}.up.bias`)) as tf.Tensor4D;
      const joined = tf.concat([up, skip], 3);
      tf.dispose([upConv, up]);
      const conv1 = this.convNorm(joined, `${block}.conv1`, 1);
      const conv2 = this.convNorm(conv1.out, `${block}.conv2`, 1);
      conv1.out.dispose();
      const out = conv2.out;
      decoder.push({ level, block, below: x, conv1: conv1.saved, conv2: conv2.saved, out });
      if (levels.includes(level)) {
        const logits = tf.conv2d(out, this.weight(`${block}.head.weight`), 1, 'same');
        heads.set(level, tf.add(logits, this.model.variable(`${block}.head.bias`)));
        logits.dispose();
      }
      x = out;
    }

    // The loss and its gradient per head, through tfjs autodiff (small tensors).
    const headLevels = [...heads.keys()];
    const { value: loss, grads } = tf.valueAndGrads((...logits: tf.Tensor[]) =>
      lossOf(new Map(headLevels.map((level, i) => [level, logits[i] as tf.Tensor4D]))),
    )(headLevels.map((level) => heads.get(level)!));
    tf.dispose([...heads.values()]);
    const headGradients = new Map(headLevels.map((level, i) => [level, grads[i] as tf.Tensor4D]));

    // Decoder, shallowest first (reverse of forward order).
    const skipGradients: (tf.Tensor4D | undefined)[] = [];
    let fromAbove: tf.Tensor4D | undefined; // gradient of this level's output from the shallower up-conv
    for (const saved of [...decoder].reverse()) {
      const { level, block, out } = saved;
      const blockIndex = spec.stages + decoderBlockAtLevel(spec, level);
      const dHead = headGradients.get(level);
      let dOut = fromAbove;
      if (dHead !== undefined) {
        const needed = this.isTrainable(block) || this.firstTrainable < blockIndex;
        this.biasGradient(`${block}.head.bias`, dHead);
        this.filterGradient(`${block}.head.weight`, out, dHead, 1);
        if (needed) dOut = this.accumulate(dOut, this.inputGradient(dHead, `${block}.head.weight`, 1, out.shape));
        dHead.dispose();
      }
      out.dispose();
      fromAbove = undefined;
      if (dOut === undefined) {
        this.release(saved.conv1, saved.conv2);
        saved.conv1.x.dispose();
        continue;
      }
      const dMid = this.secondConvBackward(saved.conv1, saved.conv2, dOut);
      // The joined input's gradient feeds this block's up-convolution parameters and the skip.
      const dJoined = this.convNormBackward(saved.conv1, dMid, true)!;
      saved.conv1.x.dispose();
      const [dUp, dSkip] = tf.split(dJoined, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
      dJoined.dispose();
      if (this.firstTrainable <= level) skipGradients[level] = dSkip;
      else dSkip.dispose();
      this.biasGradient(`${block}.up.bias`, dUp);
      // The up-convolution is Conv2DBackpropInput(dy = below); its gradients as in gradients.ts.
      const upWeight = this.model.variable(`${block}.up.weight`);
      if (this.trainable.has(`${block}.up.weight`)) {
        this.gradients[`${block}.up.weight`] = tf.engine().runKernel(
          'Conv2DBackpropFilter',
          { x: dUp, dy: saved.below },
          { strides: 2, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: upWeight.shape } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
      }
      if (this.firstTrainable < blockIndex) {
        fromAbove = tf.engine().runKernel(
          'Conv2D',
          { x: dUp, filter: upWeight },
          { strides: 2, pad: 'same', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor4D;
      }
      dUp.dispose();
    }

    // Encoder, deepest first; each stage's output gradient is its skip's plus the deeper stage's.
    for (let stage = spec.stages - 1; stage >= 0; stage--) {
      const [conv1, conv2] = encoder[stage]!;
      const dOut = this.accumulate(fromAbove, skipGradients[stage]);
      fromAbove = undefined;
      skips[stage]!.dispose();
      if (dOut === undefined || this.firstTrainable > stage) {
        dOut?.dispose();
        this.release(conv1, conv2);
        continue;
      }
      const dMid = this.secondConvBackward(conv1, conv2, dOut);
      fromAbove = this.convNormBackward(conv1, dMid, this.firstTrainable < stage);
    }
    fromAbove?.dispose();
    return { loss, gradients: this.gradients };
  }

  private weight(name: string): tf.Tensor4D {
    return this.model.variable(name) as tf.Tensor4D;
  }

  private isTrainable(block: string): boolean {
    return [...this.trainable].some((name) => name.startsWith(`${block}.`));
  }

  /** conv → norm → LeakyReLU; `out` goes to its consumer, `saved` to the backward pass. */
  private convNorm(x: tf.Tensor4D, prefix: string, stride: 1 | 2): { out: tf.Tensor4D; saved: ConvNormSaved } {
    const y = tf.conv2d(x, this.weight(`${prefix}.weight`), stride, 'same');
    const { out, mean, invStd } = instanceNormAct(y, this.model.variable(`${prefix}.norm.gamma`), this.model.variable(`${prefix}.norm.beta`), NORM);
    return { out, saved: { prefix, stride, x, y, mean, invStd } };
  }

  /** Backward through a block's second conv, recomputing its input from the first conv's saved state. */
  private secondConvBackward(first: ConvNormSaved, second: SecondConvSaved, dOut: tf.Tensor4D): tf.Tensor4D {
    const { out: x, mean, invStd } = instanceNormAct(first.y, this.model.variable(`${first.prefix}.norm.gamma`), this.model.variable(`${first.prefix}.norm.beta`), NORM);
    tf.dispose([mean, invStd]);
    const dx = this.convNormBackward({ ...second, x }, dOut, true)!;
    x.dispose();
    return dx;
  }

  private release(...saved: SecondConvSaved[]): void {
    for (const s of saved) tf.dispose([s.y, s.mean, s.invStd]);
  }

  /** Backward through norm+act then conv; consumes `dOut`; returns the conv input's gradient if `wantInput`. */
  private convNormBackward(saved: ConvNormSaved, dOut: tf.Tensor4D, wantInput: boolean): tf.Tensor4D | undefined {
    const { prefix, stride, x, y, mean, invStd } = saved;
    const gamma = this.model.variable(`${prefix}.norm.gamma`);
    const beta = this.model.variable(`${prefix}.norm.beta`);
    const { dx: dy, dGamma, dBeta } = instanceNormActGrad(dOut, y, mean, invStd, gamma, beta, NORM);
    dOut.dispose();
    this.release(saved);
    this.keepOrDispose(`${prefix}.norm.gamma`, dGamma);
    this.keepOrDispose(`${prefix}.norm.beta`, dBeta);
    this.filterGradient(`${prefix}.weight`, x, dy, stride);
    const dx = wantInput ? this.inputGradient(dy, `${prefix}.weight`, stride, x.shape) : undefined;
    dy.dispose();
    return dx;
  }

  private keepOrDispose(name: string, gradient: tf.Tensor): void {
    if (this.trainable.has(name)) this.gradients[name] = gradient;
    else gradient.dispose();
  }

  private biasGradient(name: string, dy: tf.Tensor4D): void {
    if (this.trainable.has(name)) this.gradients[name] = tf.sum(dy, [0, 1, 2]);
  }

  private filterGradient(name: string, x: tf.Tensor4D, dy: tf.Tensor4D, stride: 1 | 2): void {
    if (!this.trainable.has(name)) return;
    this.gradients[name] = tf.engine().runKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      { strides: stride, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: this.model.variable(name).shape } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor;
  }

  private inputGradient(dy: tf.Tensor4D, name: string, stride: 1 | 2, inputShape: number[]): tf.Tensor4D {
    return tf.engine().runKernel(
      'Conv2DBackpropInput',
      { dy, filter: this.model.variable(name) },
      { strides: stride, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;
  }

  /** a + b where either may be absent; consumes both. */
  private accumulate(a: tf.Tensor4D | undefined, b: tf.Tensor4D | undefined): tf.Tensor4D | undefined {
    if (a === undefined) return b;
    if (b === undefined) return a;
    const sum = tf.add(a, b) as tf.Tensor4D;
    tf.dispose([a, b]);
    return sum;
  }
}
