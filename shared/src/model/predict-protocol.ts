/** Messages between `Predictor` and its worker thread. */
import type { BackendRequest } from '../engine/index.js';
import type { InferenceRequest } from './inference-choice.js';
import type { ImageVolume, LabelVolume } from '../types.js';
import type { PredictOptions } from './predict.js';
import type { UNetSpec } from './spec.js';
import type { NamedTensor } from './weights.js';

export type PredictorRequest =
  | {
      readonly type: 'load';
      readonly id: number;
      readonly spec: UNetSpec;
      readonly weights: NamedTensor[];
      readonly inference?: InferenceRequest;
      readonly backend?: BackendRequest;
      readonly threads?: number;
    }
  | { readonly type: 'predict'; readonly id: number; readonly image: ImageVolume; readonly options: PredictOptions };

export type PredictorReply =
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'loaded'; readonly id: number; readonly engine: string }
  | { readonly type: 'predicted'; readonly id: number; readonly label: LabelVolume }
  | { readonly type: 'failed'; readonly id: number; readonly name: string; readonly message: string };
