/**
 * What whole-image inference needs from a network: class probabilities for a batch of normalised
 * windows. The tfjs U-Net (any backend) and the native ONNX runtime both provide it, so the sliding
 * window, mirroring and post-processing are written once.
 */
export interface ProbabilityEngine {
  /** Short description for logs and reports, e.g. "onnxruntime-node cpu, 2 threads". */
  readonly name: string;
  /** Output classes including background. */
  readonly classes: number;
  /**
   * Softmax probabilities, NHWC [n, size, size, classes], of the full-resolution head for images
   * NHWC [n, size, size, 1] (min-max normalised). `size` must be divisible by 2^(stages-1).
   */
  probabilities(images: Float32Array, n: number, size: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}
