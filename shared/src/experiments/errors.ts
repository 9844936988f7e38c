/** A bad experiment config or an experiment that cannot run on the given data. */
export class ExperimentError extends Error {
  override readonly name = 'ExperimentError';
}
