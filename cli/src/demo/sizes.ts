/**
 * How big the demo's study is. Chosen so the whole federated study fits a 2-core laptop: measured
 * on 2 idle cores, `quick` took 166 s (318 CPU-seconds over all processes), `full` 604 s (1,128).
 * The summary prints these sizes, so every figure says what it rests on.
 */
export interface DemoSizes {
  readonly name: 'quick' | 'full';
  /** Phantom cases written per site. */
  readonly casesPerSite: number;
  /** Cap on slices per phantom case (longer stacks thinned over the same extent); absent = Table 1's stacks. */
  readonly maxSlicesPerCase?: number;
  /** Fraction of each site's cases held out as its test split (the rest trains). */
  readonly testFraction: number;
  /**
   * The network every job trains and the pretrained model is served as. The U-Net is fully
   * convolutional, so the same weights run on a smaller crop around the heart (`inputSize`).
   */
  readonly architecture: string;
  /** Epochs of every single-site training (local models, fine-tuning, scratch baselines). */
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** FedAvg: rounds, local epochs per round, progressive inclusion (start with 2 sites, add 1 a round). */
  readonly fedRounds: number;
  readonly fedLocalEpochs: number;
  /** Fractions of each site's training cases for the fine-tuning comparison. */
  readonly finetuneFractions: readonly number[];
  /** Encoder fine-tuning variants: how many encoder blocks train (the rest of the network stays frozen). */
  readonly finetuneEncoderBlocks: readonly number[];
  /** Per-task deadline: generous, so only injected faults make a site miss it. */
  readonly deadlineSeconds: number;
}

export const QUICK: DemoSizes = {
  name: 'quick',
  casesPerSite: 4,
  // The STPAU- and MSCMR-like stacks (10-24 slices) would set every round's pace: with the profiles'
  // own stacks the quick study took 590 CPU-seconds, with at most 5 slices per case 318.
  maxSlicesPerCase: 5,
  testFraction: 0.5,
  // 96² (144 mm at 1.5 mm) still holds the whole heart after an image-only centre estimate; at 64²
  // the shipped model loses the LV on some phantom cases (blood pool Dice 0.00-0.75 vs 0.59-0.97).
  architecture: 'lite:inputSize=96',
  epochs: 1,
  batchSize: 4,
  learningRate: 1e-3,
  fedRounds: 3,
  fedLocalEpochs: 1,
  finetuneFractions: [0.1, 1],
  finetuneEncoderBlocks: [2],
  deadlineSeconds: 300,
};

export const FULL: DemoSizes = {
  name: 'full',
  casesPerSite: 10,
  testFraction: 0.3,
  architecture: 'lite:inputSize=96',
  // One epoch per training: the whole study then took 10 min on 2 cores.
  epochs: 1,
  batchSize: 4,
  learningRate: 1e-3,
  fedRounds: 3,
  fedLocalEpochs: 1,
  finetuneFractions: [0.1, 1],
  finetuneEncoderBlocks: [1, 3],
  deadlineSeconds: 900,
};

/** One line for the terminal and the summary. */
export function describeSizes(s: DemoSizes): string {
  return `${s.name}: ${s.casesPerSite} phantom cases/site${s.maxSlicesPerCase ? ` of ≤ ${s.maxSlicesPerCase} slices` : ''} (test ${Math.round(s.testFraction * 100)} %), U-Net ${s.architecture}, ${s.epochs} epoch(s) per local training, FedAvg ${s.fedRounds} rounds × ${s.fedLocalEpochs} epoch(s), encoder fine-tuning (${s.finetuneEncoderBlocks.join(', ')} block(s)) on ${s.finetuneFractions.map((f) => `${f * 100} %`).join(' and ')} of cases vs scratch`;
}
