/**
 * Aggregation strategies, Flower-style: `configure` says what each site's training task carries,
 * `aggregate` combines the sites' updated weights into the next global model. Updates are read in
 * coordinate ranges (usually straight from the model store on disk), so no strategy needs every
 * site's full model in memory at once.
 */
export interface ClientUpdate {
  readonly siteId: string;
  /** Training cases behind this update: FedAvg's weight. */
  readonly numExamples: number;
  readonly parameterCount: number;
  read(start: number, count: number): Promise<Float32Array>;
}

/** Hyper-parameters sent to a site with its training task (FedProx μ is a client-side term). */
export type TrainingConfig = Readonly<Record<string, string | number | boolean>>;

export interface AggregationStrategy {
  readonly name: string;
  configure(base: TrainingConfig): TrainingConfig;
  aggregate(updates: readonly ClientUpdate[]): Promise<Float32Array>;
}

/** Coordinates read per step; bounds memory to chunk × sites for the coordinate-wise strategies. */
export const DEFAULT_CHUNK = 1 << 16;
