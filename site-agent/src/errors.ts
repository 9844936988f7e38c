/** Every failure the agent reports on purpose carries one of these codes (shown by the CLI as `[code]`). */
export type AgentErrorCode =
  | 'config_invalid'
  | 'kit_invalid'
  | 'enrolment_failed'
  | 'dataset_invalid'
  | 'split_changed'
  | 'architecture_invalid'
  | 'model_mismatch';

export class AgentError extends Error {
  override readonly name = 'AgentError';
  constructor(
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Codes of refusals by local policy, sent to the coordinator as `[code] reason` in a
 * non-retryable ErrorReport: the coordinator excludes the site from that task with the reason.
 */
export type PolicyRefusalCode =
  | 'policy_task_kind'
  | 'policy_weights_stay'
  | 'policy_min_cases'
  | 'policy_architecture_not_approved'
  | 'policy_per_case_metrics'
  | 'policy_epsilon'
  | 'policy_privacy_budget'
  | 'unsupported_task';

export class PolicyRefusal extends Error {
  override readonly name = 'PolicyRefusal';
  constructor(
    readonly code: PolicyRefusalCode,
    message: string,
  ) {
    super(message);
  }
}
