/** Bad augmentation input or configuration: a wrong preset, a malformed slice, out-of-range intensities. */
export class AugmentationError extends Error {
  override readonly name = 'AugmentationError';
}
