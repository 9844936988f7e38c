import { randomBytes } from 'node:crypto';
import { HarmonisationError } from './errors.js';
import { validateHistogram, type IntensityHistogram } from './histogram.js';

/** A source of uniform numbers in [0, 1). */
export type UniformSource = () => number;

/**
 * Uniforms from the operating system's CSPRNG. Released noise must not be reproducible by anyone
 * who could learn a seed, so this is the default; tests pass a seeded source instead.
 */
export const secureUniform: UniformSource = () => {
  const bytes = randomBytes(7);
  // 53 random bits -> a double in [0, 1).
  const high = bytes.readUIntBE(0, 3) & 0x1fffff;
  const low = bytes.readUIntBE(3, 4);
  return (high * 2 ** 32 + low) / 2 ** 53;
};

/** One Laplace(0, scale) deviate by inverse-CDF sampling. */
export function laplaceNoise(scale: number, uniform: UniformSource = secureUniform): number {
  let u = uniform() - 0.5;
  while (u === -0.5) u = uniform() - 0.5;
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

export interface PrivacyOptions {
  /** Privacy budget ε of this release; smaller is more private and noisier. */
  readonly epsilon: number;
  /**
   * L1 sensitivity of the histogram: how much all counts together change when one protected unit is
   * added or removed. 1 protects single voxels; protecting a whole slice needs its voxel count.
   */
  readonly sensitivity?: number;
  readonly uniform?: UniformSource;
}

/** How a released histogram was protected, carried with it so the receiver can weigh it. */
export interface PrivacyRecord {
  readonly mechanism: 'laplace';
  readonly epsilon: number;
  readonly sensitivity: number;
  /** Laplace scale b = sensitivity / ε of the noise on every count. */
  readonly scale: number;
}

/**
 * The Laplace mechanism on histogram counts: every count gets independent Laplace(sensitivity / ε)
 * noise, which makes the release ε-differentially private. Negative counts are then set to 0; as
 * post-processing of the noisy counts that costs no privacy.
 */
export function privatiseHistogram(h: IntensityHistogram, options: PrivacyOptions): { histogram: IntensityHistogram; privacy: PrivacyRecord } {
  const { record, noisy } = addLaplaceNoise(h, options);
  return { histogram: { ...noisy, counts: noisy.counts.map((c) => Math.max(0, c)) }, privacy: record };
}

/** The noisy counts before clamping, for callers (and tests) that need the raw mechanism output. */
export function addLaplaceNoise(h: IntensityHistogram, options: PrivacyOptions): { noisy: IntensityHistogram; record: PrivacyRecord } {
  validateHistogram(h);
  const { epsilon } = options;
  const sensitivity = options.sensitivity ?? 1;
  if (!(Number.isFinite(epsilon) && epsilon > 0)) throw new HarmonisationError(`ε must be a positive finite number, got ${epsilon}`);
  if (!(Number.isFinite(sensitivity) && sensitivity > 0)) throw new HarmonisationError(`sensitivity must be positive, got ${sensitivity}`);
  const scale = sensitivity / epsilon;
  const uniform = options.uniform ?? secureUniform;
  return {
    noisy: { low: h.low, high: h.high, counts: h.counts.map((c) => c + laplaceNoise(scale, uniform)) },
    record: { mechanism: 'laplace', epsilon, sensitivity, scale },
  };
}
