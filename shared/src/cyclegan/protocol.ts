/** Messages between the CycleGAN API and its worker thread: plain data, typed arrays transferred. */
import type { NamedTensor } from '../model/weights.js';
import type { GreyImage } from './patches.js';
import type { CycleGanSpec, GeneratorName } from './spec.js';

export interface CycleGanProgress {
  /** Iterations completed (1-based count). */
  readonly iteration: number;
  readonly iterations: number;
  readonly generatorLoss: number;
  readonly cycleLoss: number;
  readonly discriminatorLoss: number;
  readonly etaSeconds: number;
}

export interface WorkerTrainRequest {
  readonly spec: CycleGanSpec;
  readonly siteImages: GreyImage[];
  readonly referenceImages: GreyImage[];
  readonly iterations: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly learningRate: number;
  readonly cycleWeight: number;
  readonly identityWeight: number;
  readonly imagePool: number;
  readonly schedule: CycleGanSchedule;
  readonly backend?: string;
}

/** `constant`: the rate throughout; `linear`: constant for the first half, then linearly to 0 (Zhu et al.). */
export type CycleGanSchedule = 'constant' | 'linear';

export interface WorkerTranslateRequest {
  readonly spec: CycleGanSpec;
  readonly generator: GeneratorName;
  readonly weights: NamedTensor[];
  readonly images: GreyImage[];
  readonly backend?: string;
}

export type ToWorker =
  | { readonly type: 'train'; readonly request: WorkerTrainRequest }
  | { readonly type: 'translate'; readonly request: WorkerTranslateRequest }
  | { readonly type: 'cancel' };

export type FromWorker =
  | { readonly type: 'progress'; readonly progress: CycleGanProgress }
  | {
      readonly type: 'trained';
      readonly weights: NamedTensor[];
      readonly generatorLosses: number[];
      readonly cycleLosses: number[];
      readonly discriminatorLosses: number[];
      readonly backend: string;
      readonly cancelledAt?: number;
    }
  | { readonly type: 'translated'; readonly images: Float32Array[]; readonly backend: string }
  | { readonly type: 'error'; readonly name: string; readonly message: string };
