/**
 * Adam with exactly tfjs's `tf.train.adam` arithmetic (same ops in the same order, so the same
 * bits), but each variable is updated in its own tidy. tfjs's AdamOptimizer runs the whole update in
 * one tidy, keeping about fourteen parameter-sized temporaries per variable alive until every
 * variable is done: 3.5 GB for the 62M-parameter `paper` network, more than wasm can address.
 * Where the backend has our fused update kernel (wasm with SIMD), it does the same arithmetic in
 * one pass over memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE } from '../engine/kernels/adam.js';

const BETA1 = 0.9;
const BETA2 = 0.999;

function checkedRate(learningRate: number): number {
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new RangeError(`learningRate must be a positive number, got ${learningRate}`);
  return learningRate;
}

/** Everything an Adam run needs to continue exactly where it stopped (a training checkpoint). */
export interface AdamState {
  /** β₁ and β₂ raised to the number of updates so far plus one, as the bias correction uses them. */
  readonly beta1Power: number;
  readonly beta2Power: number;
  /** First and second moments per parameter name. */
  readonly moments: readonly { readonly name: string; readonly first: Float32Array; readonly second: Float32Array }[];
}

export class AdamOptimizer {
  private readonly firstMoments = new Map<string, tf.Variable>();
  private readonly secondMoments = new Map<string, tf.Variable>();
  private readonly accBeta1: tf.Variable;
  private readonly accBeta2: tf.Variable;
  /** tf.train.adam's default: the backend's epsilon (1e-7 on float32 backends). */
  private readonly epsilon = tf.backend().epsilon();

  private learningRate: number;

  constructor(learningRate: number) {
    this.learningRate = checkedRate(learningRate);
    this.accBeta1 = tf.tidy(() => tf.scalar(BETA1).variable(false));
    this.accBeta2 = tf.tidy(() => tf.scalar(BETA2).variable(false));
  }

  /** Changes the rate of the following updates (a schedule); the moments are kept. */
  setLearningRate(learningRate: number): void {
    this.learningRate = checkedRate(learningRate);
  }

  /** One update of each variable with its gradient; the gradients are left to the caller. */
  applyGradients(updates: readonly { variable: tf.Variable; gradient: tf.Tensor }[]): void {
    const [oneMinusAccBeta1, oneMinusAccBeta2] = tf.tidy(() => [tf.sub(1, this.accBeta1), tf.sub(1, this.accBeta2)]) as [tf.Scalar, tf.Scalar];
    const fused = tf.getKernel(ADAM_UPDATE, tf.getBackend()) !== undefined;
    for (const { variable, gradient } of updates) {
      tf.tidy(() => {
        const m = this.moment(this.firstMoments, variable);
        const v = this.moment(this.secondMoments, variable);
        const [newX, newM, newV] = fused
          ? (tf.engine().runKernel(ADAM_UPDATE, { x: variable, gradient, m, v, correction1: oneMinusAccBeta1, correction2: oneMinusAccBeta2 }, { beta1: BETA1, beta2: BETA2, epsilon: this.epsilon, learningRate: this.learningRate }) as tf.Tensor[])
          : this.update(variable, gradient, m, v, oneMinusAccBeta1, oneMinusAccBeta2);
        m.assign(newM!);
        v.assign(newV!);
        variable.assign(newX!);
      });
    }
    tf.dispose([oneMinusAccBeta1, oneMinusAccBeta2]);
    tf.tidy(() => {
      this.accBeta1.assign(tf.mul(this.accBeta1, BETA1));
      this.accBeta2.assign(tf.mul(this.accBeta2, BETA2));
    });
  }

  /** tf.train.adam's arithmetic in tfjs ops: [x', m', v']. */
  private update(x: tf.Tensor, gradient: tf.Tensor, m: tf.Tensor, v: tf.Tensor, oneMinusAccBeta1: tf.Scalar, oneMinusAccBeta2: tf.Scalar): tf.Tensor[] {
    const newM = tf.add(tf.mul(m, BETA1), tf.mul(gradient, 1 - BETA1));
    const newV = tf.add(tf.mul(v, BETA2), tf.mul(tf.square(gradient), 1 - BETA2));
    const correctedM = tf.div(newM, oneMinusAccBeta1);
    const correctedV = tf.div(newV, oneMinusAccBeta2);
    return [tf.add(tf.mul(tf.div(correctedM, tf.add(tf.sqrt(correctedV), this.epsilon)), -this.learningRate), x), newM, newV];
  }

  private moment(moments: Map<string, tf.Variable>, variable: tf.Variable): tf.Variable {
    let moment = moments.get(variable.name);
    if (moment === undefined) {
      moment = tf.tidy(() => tf.zerosLike(variable).variable(false));
      moments.set(variable.name, moment);
    }
    return moment;
  }

  /** The state, with moments named by parameter (tfjs variable names differ between processes). */
  async exportState(parameters: ReadonlyMap<string, tf.Variable>): Promise<AdamState> {
    const moments = [];
    for (const [name, variable] of parameters) {
      moments.push({
        name,
        first: (await this.moment(this.firstMoments, variable).data()) as Float32Array,
        second: (await this.moment(this.secondMoments, variable).data()) as Float32Array,
      });
    }
    return { beta1Power: (await this.accBeta1.data())[0]!, beta2Power: (await this.accBeta2.data())[0]!, moments };
  }

  /** Continues from an exported state; every named parameter must be there with its own size. */
  importState(state: AdamState, parameters: ReadonlyMap<string, tf.Variable>): void {
    const byName = new Map(state.moments.map((m) => [m.name, m]));
    for (const [name, variable] of parameters) {
      const saved = byName.get(name);
      if (!saved || saved.first.length !== variable.size || saved.second.length !== variable.size) throw new RangeError(`optimiser state has no moments of ${variable.size} values for ${name}`);
      for (const [moments, values] of [[this.firstMoments, saved.first], [this.secondMoments, saved.second]] as const) {
        moments.get(variable.name)?.dispose();
        moments.set(variable.name, tf.tidy(() => tf.tensor(values, variable.shape).variable(false)));
      }
    }
    tf.tidy(() => {
      this.accBeta1.assign(tf.scalar(state.beta1Power));
      this.accBeta2.assign(tf.scalar(state.beta2Power));
    });
  }

  dispose(): void {
    tf.dispose([this.accBeta1, this.accBeta2, ...this.firstMoments.values(), ...this.secondMoments.values()]);
    this.firstMoments.clear();
    this.secondMoments.clear();
  }
}
