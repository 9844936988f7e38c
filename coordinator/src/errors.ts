/** Every failure the coordinator reports on purpose carries one of these codes (shown by the CLI as `[code]`). */
export type CoordinatorErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'conflict'
  | 'token_invalid'
  | 'token_used'
  | 'token_expired'
  | 'token_revoked'
  | 'key_reused'
  | 'site_revoked'
  | 'site_already_enrolled'
  | 'unauthenticated'
  | 'forbidden'
  | 'corrupt_model'
  | 'task_not_assigned'
  | 'task_closed'
  | 'aggregation_failed'
  | 'schema_too_new';

export class CoordinatorError extends Error {
  override readonly name = 'CoordinatorError';
  constructor(
    readonly code: CoordinatorErrorCode,
    message: string,
  ) {
    super(message);
  }
}
