/** Bad CycleGAN input: a spec, weights, images or options that cannot be used. */
export class CycleGanError extends Error {
  override readonly name = 'CycleGanError';
}
