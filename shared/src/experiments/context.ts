/** What every experiment runner gets: the parsed config, the loaded sites and a way to report. */
import type { ComputeOptions } from './arms.js';
import type { ExperimentConfig } from './config.js';
import { ExperimentError } from './errors.js';
import type { ExperimentListener } from './events.js';
import type { SiteData } from './sites.js';

export interface RunContext {
  readonly config: ExperimentConfig;
  readonly sites: ReadonlyMap<string, SiteData>;
  readonly backend?: ComputeOptions['backend'];
  readonly signal?: AbortSignal;
  readonly emit: ExperimentListener;
}

export function site(context: RunContext, name: string): SiteData {
  const found = context.sites.get(name);
  if (!found) throw new ExperimentError(`site ${name} is not loaded`);
  return found;
}

/** What scoring needs of the run: its backend, whether to mirror and at which scales. */
export function scoringOptions(context: RunContext): ComputeOptions {
  return {
    ...(context.backend ? { backend: context.backend } : {}),
    ...(context.config.mirror ? { mirror: true } : {}),
    ...(context.config.scales ? { scales: context.config.scales } : {}),
  };
}

/** Compute options whose progress is reported under `label`. */
export function computeFor(context: RunContext, label: string): ComputeOptions {
  return {
    ...scoringOptions(context),
    ...(context.signal ? { signal: context.signal } : {}),
    onTraining: (p) => context.emit({ type: 'training', label, iteration: p.iteration, iterations: p.iterations, loss: p.loss, etaSeconds: p.etaSeconds }),
    onCase: (done, total) => context.emit({ type: 'testing', label, done, total }),
  };
}

/** Counts arms so progress reads "arm 3/12". */
export class ArmCounter {
  private index = 0;
  constructor(
    private readonly context: RunContext,
    private readonly total: number,
  ) {}

  next(label: string): ComputeOptions {
    this.index++;
    this.context.emit({ type: 'arm', label, index: this.index, total: this.total });
    return computeFor(this.context, label);
  }
}
