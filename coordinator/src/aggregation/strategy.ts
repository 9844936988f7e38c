/**
 * Aggregation strategies, Flower-style: `configure` says what each site's training task carries,
 * `stream` combines the sites' updated weights into the next global model one coordinate range at
 * a time. Updates are read in ranges (usually straight from the model store on disk) and the
 * result leaves through a sink (usually straight into the model store), so memory is bounded by
 * chunk × sites whatever the model size: no strategy ever holds a whole model, let alone one per site.
 */
export interface ClientUpdate {
  readonly siteId: string;
  /** Training cases behind this update: FedAvg's weight. */
  readonly numExamples: number;
  readonly parameterCount: number;
  /**
   * Values [start, start + count). With `into` (at least `count` long) they may be written there
   * and a view of it returned instead of new memory: valid until the next read into it.
   */
  read(start: number, count: number, into?: Float32Array): Promise<Float32Array>;
}

/** Hyper-parameters sent to a site with its training task (FedProx μ is a client-side term). */
export type TrainingConfig = Readonly<Record<string, string | number | boolean>>;

/**
 * Receives the aggregate in order: values for coordinates [start, start + values.length). The
 * array is reused once the returned promise settles: a sink that keeps values copies them.
 */
export type AggregateSink = (start: number, values: Float32Array) => Promise<void>;

export interface AggregationStrategy {
  readonly name: string;
  configure(base: TrainingConfig): TrainingConfig;
  /** Streams the aggregate into `sink`, in coordinate order; returns the parameter count. */
  stream(updates: readonly ClientUpdate[], sink: AggregateSink): Promise<number>;
  /** The aggregate as one array (small models, tests); `stream` is what the coordinator uses. */
  aggregate(updates: readonly ClientUpdate[]): Promise<Float32Array>;
}

/** Coordinates read per site per step when memory allows it. */
export const DEFAULT_CHUNK = 1 << 16;
/** Bytes of site values held at once while aggregating (chunk × sites × 4). */
export const DEFAULT_MEMORY_BUDGET_BYTES = 32 * 1024 * 1024;
/** Below this, reads get too small to be efficient; memory then grows past the budget with sites. */
const MIN_CHUNK = 1024;

/**
 * Coordinates per step for `sites` updates: the default, shrunk so chunk × sites float32 values
 * stay within the memory budget as the federation grows.
 */
export function chunkFor(sites: number, requested: number | undefined, budgetBytes = DEFAULT_MEMORY_BUDGET_BYTES): number {
  if (requested !== undefined) return requested;
  return Math.max(MIN_CHUNK, Math.min(DEFAULT_CHUNK, Math.floor(budgetBytes / (4 * Math.max(1, sites)))));
}
