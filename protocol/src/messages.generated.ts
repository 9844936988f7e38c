// Generated from lgefed.proto by `npm run gen -w @lgefed/protocol`. Do not edit.

export type MlBackend =
  | 'ML_BACKEND_UNSPECIFIED'
  | 'ML_BACKEND_TFJS_NODE'
  | 'ML_BACKEND_TFJS_NODE_GPU'
  | 'ML_BACKEND_TFJS_WASM'
  | 'ML_BACKEND_TFJS_CPU';

export interface GpuInfo {
  readonly name: string;
  readonly memoryMib: number;
  readonly computeCapability: string;
}

export interface Capabilities {
  readonly mlBackend: MlBackend;
  /** Empty when the site has no usable GPU. */
  readonly gpus: readonly GpuInfo[];
  readonly memoryMib: number;
  readonly cpuCores: number;
}

/** What a site holds, as counts only: never case identifiers, images or labels. */
export interface DatasetSummary {
  readonly name: string;
  readonly caseCount: number;
  readonly labelledCaseCount: number;
  readonly sliceCount: number;
  readonly labelledSliceCount: number;
}

/** First message from an agent on every connection. */
export interface SiteHello {
  readonly siteId: string;
  readonly agentVersion: string;
  readonly protocolVersion: number;
  readonly capabilities: Capabilities;
  readonly datasets: readonly DatasetSummary[];
}

/** The coordinator's answer to SiteHello. */
export interface Enrolment {
  readonly siteId: string;
  readonly accepted: boolean;
  /** Why enrolment was refused; empty when accepted. */
  readonly reason: string;
  readonly coordinatorVersion: string;
  readonly protocolVersion: number;
  readonly heartbeatIntervalS: number;
}

export type TaskKind =
  | 'TASK_KIND_UNSPECIFIED'
  | 'TASK_KIND_TRAIN'
  | 'TASK_KIND_FINE_TUNE'
  | 'TASK_KIND_EVALUATE'
  | 'TASK_KIND_HARMONISATION_CHECK';

export interface ArchitectureSpec {
  /** e.g. "unet2d". */
  readonly name: string;
  readonly inputChannels: number;
  readonly outputClasses: number;
  readonly baseFilters: number;
  /** Number of down-sampling levels. */
  readonly depth: number;
  readonly inputHeight: number;
  readonly inputWidth: number;
  readonly parameterCount: number;
  readonly dropout: number;
  /** Feature cap: no level has more filters than this. 0 means uncapped, base_filters·2^depth. */
  readonly maxFilters: number;
}

/**
 * Names a model and pins its exact weights: sha256 is the digest of the model's ModelManifest
 * payload bytes, which in turn pin every chunk of every tensor.
 */
export interface ModelRef {
  readonly modelId: string;
  readonly architecture: ArchitectureSpec;
  readonly sha256: Uint8Array;
}

export interface Augmentation {
  readonly flipProbability: number;
  readonly maxRotationDeg: number;
  readonly scaleMin: number;
  readonly scaleMax: number;
  readonly intensityJitter: number;
  readonly gammaMin: number;
  readonly gammaMax: number;
  readonly elasticAlpha: number;
  readonly elasticSigma: number;
}

/** Named augmentation presets (shared/src/augment/presets.ts); unspecified leaves the site's default. */
export type AugmentationPreset =
  | 'AUGMENTATION_PRESET_UNSPECIFIED'
  | 'AUGMENTATION_PRESET_NONE'
  | 'AUGMENTATION_PRESET_SPATIAL'
  | 'AUGMENTATION_PRESET_PAPER'
  | 'AUGMENTATION_PRESET_NNUNET';

/** Transfer learning: which blocks train. With `enabled` false every block trains. */
export interface FreezeSpec {
  readonly enabled: boolean;
  /** The first k encoder blocks train. */
  readonly trainEncoderBlocks: number;
  /** The last m decoder blocks (nearest the output) train. */
  readonly trainDecoderBlocks: number;
}

export interface HyperParameters {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly weightDecay: number;
  /** e.g. "adam". */
  readonly optimizer: string;
  /** e.g. "dice+ce". */
  readonly loss: string;
  readonly augmentation: Augmentation;
  /** Names of the blocks whose weights may change; empty means all (fine-tuning freezes the rest). */
  readonly trainableBlocks: readonly string[];
  /** Fraction of the site's labelled cases to use, in (0, 1]. */
  readonly dataFraction: number;
  readonly seed: number;
  /** FedProx proximal term μ (Li et al. 2020) pulling local weights towards the assigned model; 0 = plain FedAvg. */
  readonly proximalMu: number;
  readonly augmentationPreset: AugmentationPreset;
  /** Training length in optimiser steps, instead of epochs (exactly one of the two is non-zero). */
  readonly iterations: number;
  readonly freeze: FreezeSpec;
  /** Score the trained model on the site's test split (Dice per case, 3D) and return only the metrics. */
  readonly evaluateAfter: boolean;
  /**
   * Exactly this many of the site's labelled training cases (a seeded selection; a site with fewer
   * fails the task), so every site trains on the same count; 0 = use data_fraction.
   */
  readonly caseCount: number;
}

/**
 * A histogram over [low, high] in equal bins. Counts are doubles: differential-privacy noise makes
 * them non-integer.
 */
export interface DensityHistogram {
  readonly low: number;
  readonly high: number;
  readonly counts: readonly number[];
}

/** A quantile function: ascending probabilities from 0 to 1 and the values at them. */
export interface QuantileTable {
  readonly probabilities: readonly number[];
  readonly values: readonly number[];
}

/** The percentiles an image's intensities were mapped to [0, 1] with before histogramming. */
export interface IntensityNormalisation {
  readonly lowerPercentile: number;
  readonly upperPercentile: number;
}

/**
 * What a harmonisation check compares against: the reference cohort's intensity profile (never
 * images), and the privacy budget the site may spend on its own histogram.
 */
export interface HarmonisationReference {
  readonly normalisation: IntensityNormalisation;
  readonly histogram: DensityHistogram;
  readonly quantiles: QuantileTable;
  /** Largest ε the site's release may spend (its local policy may refuse a larger one). */
  readonly epsilon: number;
  /**
   * Unused: a site derives the sensitivity from how it builds its histogram (per patient) and
   * ignores this field; coordinators leave it 0.
   */
  readonly sensitivity: number;
}

/**
 * How a site segments when it scores (shared/src/model/predict.ts): test-time mirroring (4 passes
 * averaged) and scale averaging (segment at these multiples of the working spacing, average the
 * class probabilities on each case's grid). Unset: one pass at the working spacing.
 */
export interface InferenceOptions {
  readonly mirror: boolean;
  /** 1 to 8 factors in [0.25, 4]; empty means [1]. */
  readonly scales: readonly number[];
}

export interface TaskAssignment {
  readonly jobId: string;
  readonly taskId: string;
  readonly round: number;
  readonly kind: TaskKind;
  readonly model: ModelRef;
  readonly hyperParameters: HyperParameters;
  /** Name of the site dataset to use (a DatasetSummary.name). */
  readonly dataset: string;
  readonly deadlineUnixMs: number;
  /** Set for TASK_KIND_HARMONISATION_CHECK only. */
  readonly harmonisation: HarmonisationReference;
  /** How TASK_KIND_EVALUATE and TASK_KIND_FINE_TUNE score; other kinds leave it unset. */
  readonly inference: InferenceOptions;
}

export type DType =
  | 'DTYPE_UNSPECIFIED'
  | 'DTYPE_FLOAT32'
  | 'DTYPE_FLOAT16';

/** One tensor's place in the transfer's byte stream (little-endian elements, tensors in order). */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface ChunkDigest {
  readonly index: number;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly sha256: Uint8Array;
}

export interface ModelManifest {
  /** Derived from the content, so a chunk can only belong to the manifest that lists it. */
  readonly transferId: string;
  readonly modelId: string;
  readonly architecture: ArchitectureSpec;
  readonly tensors: readonly TensorSpec[];
  readonly chunks: readonly ChunkDigest[];
  readonly totalBytes: number;
  readonly chunkBytes: number;
  readonly parameterCount: number;
}

/**
 * Unsigned frame: authenticated by ChunkDigest.sha256 in the signed manifest. `data` must stay the
 * last field so the frame can be assembled without copying the weights twice.
 */
export interface TensorChunk {
  readonly transferId: string;
  readonly index: number;
  readonly byteOffset: number;
  readonly data: Uint8Array;
}

/** Asks the sender to send these chunks (again): missing, corrupt or duplicated ones. */
export interface ChunkRequest {
  readonly transferId: string;
  readonly indices: readonly number[];
}

export type WeightsKind =
  | 'WEIGHTS_KIND_UNSPECIFIED'
  | 'WEIGHTS_KIND_FULL'
  | 'WEIGHTS_KIND_DELTA';

export interface LossPoint {
  readonly epoch: number;
  readonly step: number;
  readonly trainLoss: number;
  /** Zero when the site held out no validation data. */
  readonly validationLoss: number;
}

export interface Timings {
  readonly queuedS: number;
  readonly dataLoadS: number;
  readonly computeS: number;
  readonly uploadS: number;
  readonly totalS: number;
}

export interface TrainResult {
  readonly jobId: string;
  readonly taskId: string;
  readonly round: number;
  readonly siteId: string;
  readonly weightsKind: WeightsKind;
  /** The ModelManifest the weights (or delta) travel under, and its digest as in ModelRef.sha256. */
  readonly weightsTransferId: string;
  readonly weightsManifestSha256: Uint8Array;
  /** The model the weights were trained from. */
  readonly baseModel: ModelRef;
  readonly sampleCount: number;
  readonly lossCurve: readonly LossPoint[];
  readonly timings: Timings;
}

export type Structure =
  | 'STRUCTURE_UNSPECIFIED'
  | 'STRUCTURE_BLOODPOOL'
  | 'STRUCTURE_MYOCARDIUM';

export interface StructureMetrics {
  readonly structure: Structure;
  readonly dice: number;
  readonly hd95Mm: number;
  readonly predictedVolumeMl: number;
  readonly referenceVolumeMl: number;
}

export interface CaseEvaluation {
  /** A site-local pseudonym, never a patient identifier. */
  readonly caseRef: string;
  readonly structures: readonly StructureMetrics[];
}

export interface AggregateMetrics {
  readonly structure: Structure;
  readonly caseCount: number;
  readonly meanDice: number;
  readonly stdDice: number;
  readonly medianDice: number;
  readonly meanHd95Mm: number;
  readonly medianHd95Mm: number;
  readonly meanAbsVolumeErrorMl: number;
}

export interface EvaluationResult {
  readonly jobId: string;
  readonly taskId: string;
  readonly round: number;
  readonly siteId: string;
  readonly model: ModelRef;
  readonly cases: readonly CaseEvaluation[];
  readonly aggregates: readonly AggregateMetrics[];
  readonly timings: Timings;
}

export interface IntensityHistogram {
  /** counts.length + 1 edges. */
  readonly binEdges: readonly number[];
  readonly counts: readonly number[];
}

export interface Quantile {
  /** In [0, 1]. */
  readonly p: number;
  readonly value: number;
}

/** How a released histogram was protected, so the receiver can weigh it. */
export interface PrivacyRecord {
  /** "discrete-laplace": exact discrete Laplace noise on integer counts. */
  readonly mechanism: string;
  readonly epsilon: number;
  /** L1 sensitivity in released units (patients), as the site computed it. */
  readonly sensitivity: number;
  /** Noise scale per count in released units (sensitivity / epsilon). */
  readonly scale: number;
}

/** Distances of a site's noised histogram from the reference's. */
export interface IntensityDistances {
  readonly wasserstein1: number;
  readonly jensenShannon: number;
}

export interface HarmonisationReport {
  readonly jobId: string;
  readonly taskId: string;
  readonly siteId: string;
  readonly dataset: string;
  readonly caseCount: number;
  readonly histogram: IntensityHistogram;
  readonly quantiles: readonly Quantile[];
  /** The reference distribution compared against, and how. */
  readonly referenceId: string;
  readonly distanceMetric: string;
  readonly distance: number;
  readonly withinTolerance: boolean;
  /**
   * The site's release (fields 6-10 predate it and stay empty): normalisation as the reference's,
   * the noised histogram, quantiles derived from it, its privacy record and distances.
   */
  readonly normalisation: IntensityNormalisation;
  readonly noisedHistogram: DensityHistogram;
  readonly quantileTable: QuantileTable;
  readonly privacy: PrivacyRecord;
  readonly distances: IntensityDistances;
}

/**
 * The outcome of a TASK_KIND_FINE_TUNE task: the fine-tuned (or scratch-trained) model stays at the
 * site; only its scores on the site's test split come back.
 */
export interface FineTuneResult {
  readonly jobId: string;
  readonly taskId: string;
  readonly round: number;
  readonly siteId: string;
  /** The model fine-tuning started from; empty model_id for a scratch baseline. */
  readonly baseModel: ModelRef;
  /** Training cases used (the data fraction's share). */
  readonly trainCaseCount: number;
  /** Blocks that trained, e.g. "enc0". */
  readonly trainedBlocks: readonly string[];
  readonly lossCurve: readonly LossPoint[];
  readonly aggregates: readonly AggregateMetrics[];
  readonly timings: Timings;
}

export interface Progress {
  readonly jobId: string;
  readonly taskId: string;
  /** e.g. "loading", "training", "evaluating", "uploading". */
  readonly stage: string;
  /** In [0, 1]. */
  readonly fraction: number;
  readonly epoch: number;
  readonly loss: number;
  readonly message: string;
}

export interface Heartbeat {
  readonly siteId: string;
  readonly activeTaskIds: readonly string[];
  readonly freeMemoryMib: number;
  readonly gpuUtilisation: number;
  /** The site's differential-privacy ledger: ε spent on histograms so far and its total budget. */
  readonly privacy: PrivacyBalance;
}

export interface PrivacyBalance {
  readonly spentEpsilon: number;
  readonly budgetEpsilon: number;
}

export type ErrorCode =
  | 'ERROR_CODE_UNSPECIFIED'
  | 'ERROR_CODE_BAD_SIGNATURE'
  | 'ERROR_CODE_BAD_ALGORITHM'
  | 'ERROR_CODE_UNKNOWN_SENDER'
  | 'ERROR_CODE_EXPIRED'
  | 'ERROR_CODE_REPLAY'
  | 'ERROR_CODE_WRONG_TYPE'
  | 'ERROR_CODE_TOO_LARGE'
  | 'ERROR_CODE_MALFORMED'
  | 'ERROR_CODE_CHUNK_MISMATCH'
  | 'ERROR_CODE_NON_FINITE'
  | 'ERROR_CODE_UNSUPPORTED'
  | 'ERROR_CODE_TASK_FAILED'
  | 'ERROR_CODE_DEADLINE_EXCEEDED'
  | 'ERROR_CODE_RESOURCE_EXHAUSTED'
  | 'ERROR_CODE_INTERNAL';

export interface ErrorReport {
  readonly code: ErrorCode;
  readonly message: string;
  /** The `jti` of the message that failed, when there was one. */
  readonly relatedMessageId: string;
  readonly jobId: string;
  readonly taskId: string;
  readonly retryable: boolean;
}

export interface Ack {
  /** The `jti` of the acknowledged message. */
  readonly messageId: string;
}

/** Every message type by name, for typed encode/decode/seal/open. */
export interface MessageTypes {
  GpuInfo: GpuInfo;
  Capabilities: Capabilities;
  DatasetSummary: DatasetSummary;
  SiteHello: SiteHello;
  Enrolment: Enrolment;
  ArchitectureSpec: ArchitectureSpec;
  ModelRef: ModelRef;
  Augmentation: Augmentation;
  FreezeSpec: FreezeSpec;
  HyperParameters: HyperParameters;
  DensityHistogram: DensityHistogram;
  QuantileTable: QuantileTable;
  IntensityNormalisation: IntensityNormalisation;
  HarmonisationReference: HarmonisationReference;
  InferenceOptions: InferenceOptions;
  TaskAssignment: TaskAssignment;
  TensorSpec: TensorSpec;
  ChunkDigest: ChunkDigest;
  ModelManifest: ModelManifest;
  TensorChunk: TensorChunk;
  ChunkRequest: ChunkRequest;
  LossPoint: LossPoint;
  Timings: Timings;
  TrainResult: TrainResult;
  StructureMetrics: StructureMetrics;
  CaseEvaluation: CaseEvaluation;
  AggregateMetrics: AggregateMetrics;
  EvaluationResult: EvaluationResult;
  IntensityHistogram: IntensityHistogram;
  Quantile: Quantile;
  PrivacyRecord: PrivacyRecord;
  IntensityDistances: IntensityDistances;
  HarmonisationReport: HarmonisationReport;
  FineTuneResult: FineTuneResult;
  Progress: Progress;
  Heartbeat: Heartbeat;
  PrivacyBalance: PrivacyBalance;
  ErrorReport: ErrorReport;
  Ack: Ack;
}

export type MessageTypeName = keyof MessageTypes;

export const MESSAGE_TYPE_NAMES: readonly MessageTypeName[] = [
  'GpuInfo',
  'Capabilities',
  'DatasetSummary',
  'SiteHello',
  'Enrolment',
  'ArchitectureSpec',
  'ModelRef',
  'Augmentation',
  'FreezeSpec',
  'HyperParameters',
  'DensityHistogram',
  'QuantileTable',
  'IntensityNormalisation',
  'HarmonisationReference',
  'InferenceOptions',
  'TaskAssignment',
  'TensorSpec',
  'ChunkDigest',
  'ModelManifest',
  'TensorChunk',
  'ChunkRequest',
  'LossPoint',
  'Timings',
  'TrainResult',
  'StructureMetrics',
  'CaseEvaluation',
  'AggregateMetrics',
  'EvaluationResult',
  'IntensityHistogram',
  'Quantile',
  'PrivacyRecord',
  'IntensityDistances',
  'HarmonisationReport',
  'FineTuneResult',
  'Progress',
  'Heartbeat',
  'PrivacyBalance',
  'ErrorReport',
  'Ack',
];
