/** Why a data file could not be used; `lgefed data check` prints the code and the file. */
export type DataErrorCode =
  | 'not-found'
  | 'corrupt-gzip'
  | 'too-large'
  | 'not-nifti'
  | 'bad-header'
  | 'truncated'
  | 'unsupported-datatype'
  | 'not-3d'
  | 'bad-spacing'
  | 'bad-png'
  | 'shape-mismatch'
  | 'missing-label'
  | 'bad-manifest'
  | 'unknown-layout'
  | 'bad-label-map'
  | 'orphan-file'
  | 'bad-input';

/** A typed error about one file (or dataset folder) that names it, so a site admin can fix it. */
export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    readonly code: DataErrorCode,
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}
