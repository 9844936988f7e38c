/** Messages between the CycleGAN API and its worker thread: plain data, typed arrays transferred. */
import type { EngineBackend } from '../engine/backend-selection.js';
import type { IntensityHistogram } from '../harmonise/histogram.js';
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
  /** Present after a validation pass: W1 from the translated held-out site slices to the reference. */
  readonly wasserstein1?: number;
}

/** W1 of the held-out site slices, translated by the generator as it was after `iteration` iterations (0: untrained). */
export interface ValidationDistance {
  readonly iteration: number;
  readonly wasserstein1: number;
}

/** Held-out site slices translated every `every` iterations, measured against the held-out reference's histogram. */
export interface WorkerValidation {
  readonly siteImages: GreyImage[];
  readonly referenceHistogram: IntensityHistogram;
  readonly every: number;
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
  readonly validation?: WorkerValidation;
  readonly backend?: string;
  /** wasm compute threads; absent = the engine's default. */
  readonly threads?: number;
  /** Shared word the worker keeps the running kernel's index in (engine/kernel-tracker.ts). */
  readonly kernelSlot?: Int32Array;
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
  | { readonly type: 'engine'; readonly backend: EngineBackend; readonly threads: number }
  | { readonly type: 'kernels'; readonly names: string[] }
  | { readonly type: 'progress'; readonly progress: CycleGanProgress }
  | {
      readonly type: 'trained';
      readonly weights: NamedTensor[];
      readonly generatorLosses: number[];
      readonly cycleLosses: number[];
      readonly discriminatorLosses: number[];
      readonly distances: ValidationDistance[];
      /** Time the training steps alone took (no engine start, no validation passes). */
      readonly stepSeconds: number;
      readonly backend: string;
      readonly cancelledAt?: number;
    }
  | { readonly type: 'translated'; readonly images: Float32Array[]; readonly backend: string }
  | { readonly type: 'error'; readonly name: string; readonly message: string };
