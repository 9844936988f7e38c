import type { DatasetSummary } from '@lgefed/protocol';

export interface TrainingCases {
  /** What FedAvg weighs the update by: the claim, at most what the site registered. */
  readonly count: number;
  readonly claimed: number;
  readonly registered: number;
}

/**
 * A TrainResult's case count is the site's own claim, and FedAvg weighs its update by it: one site
 * claiming 4e9 cases would dictate the global model. The count is cut to the labelled cases the site
 * registered in its SiteHello for the dataset the task trains on (tasks name none, so the agent uses
 * its first), which the coordinator audited when the site connected.
 */
export function trainingCases(claimed: number, datasets: readonly DatasetSummary[]): TrainingCases {
  const registered = datasets[0]?.labelledCaseCount ?? 0;
  return { count: Math.min(claimed, registered), claimed, registered };
}
