/**
 * The study, run as federated jobs on the coordinator: harmonisation check; fine-tuning of the
 * pretrained model on 10 % and 100 % of each site's cases against training from scratch; FedAvg
 * from the pretrained model with progressive inclusion of sites; the cross-site evaluation of the
 * pretrained, single-centre and federated models; each site's fine-tuning comparison.
 *
 * Fine-tuning travels as `train` tasks (start model + `dataFraction`) scored by `evaluate` tasks,
 * because those are the task kinds the site channel carries; every block trains.
 */
import type { ReferenceIntensityProfile } from '@lgefed/shared/harmonise/index';
import type { AdminClient } from '../commands/admin.js';
import { submitJob, waitForJob, type FinishedJob, type JobRequest } from './jobs.js';
import type { ProgressBoard } from './progress.js';
import type { DemoSizes } from './sizes.js';

export const STUDY_STEPS = ['harmonisation-check', 'finetune-training', 'fedavg', 'cross-site-evaluation', 'finetune-evaluation'] as const;
export type StudyStep = (typeof STUDY_STEPS)[number];

export interface StudyJob {
  readonly step: StudyStep;
  readonly job: FinishedJob;
}

/** A fine-tuning variant: where training starts and how much of the site's training split it uses. */
export interface TrainingVariant {
  readonly start: 'pretrained' | 'scratch';
  readonly dataFraction: number;
}

export const variantLabel = (v: TrainingVariant) => `${v.start} ${Math.round(v.dataFraction * 100)} %`;

export interface StudySettings {
  readonly client: () => AdminClient;
  readonly sites: readonly string[];
  readonly sizes: DemoSizes;
  readonly seed: number;
  readonly pretrainedHash: string;
  /** The pretrained model's intensity reference; null skips the harmonisation check. */
  readonly reference: ReferenceIntensityProfile | null;
  readonly board: ProgressBoard;
  /** Called right after a job is submitted (fault injection hooks in here). */
  readonly onSubmitted?: (step: StudyStep, request: JobRequest, jobId: string) => Promise<void> | void;
  readonly jobTimeoutMs?: number;
}

export class Study {
  readonly jobs: StudyJob[] = [];

  constructor(private readonly s: StudySettings) {}

  private limits() {
    return { deadlineSeconds: this.s.sizes.deadlineSeconds, maxAttempts: 2 };
  }

  private training(epochs: number, dataFraction?: number) {
    const { sizes, seed } = this.s;
    return { epochs, seed, batchSize: sizes.batchSize, learningRate: sizes.learningRate, ...(dataFraction === undefined ? {} : { dataFraction }) };
  }

  /** Submits the requests together (they run side by side), waits for all, records them. */
  private async runAll(step: StudyStep, requests: readonly JobRequest[]): Promise<FinishedJob[]> {
    const { board } = this.s;
    const finished = await Promise.all(
      requests.map(async (request) => {
        const id = await submitJob(this.s.client(), request);
        await this.s.onSubmitted?.(step, request, id);
        const job = await waitForJob(this.s.client(), request.label, id, { timeoutMs: this.s.jobTimeoutMs ?? 3600_000, onView: (view) => board.update(request.label, view) });
        board.remove(request.label);
        board.log(`${job.status === 'completed' ? '✔' : '✘'} ${request.label}: ${job.status}${job.failure ? ` (${job.failure})` : ''}`);
        return job;
      }),
    );
    for (const job of finished) this.jobs.push({ step, job });
    return finished;
  }

  async run(): Promise<void> {
    const { sites, sizes, pretrainedHash } = this.s;
    const all = [...sites];
    if (this.s.reference) {
      await this.runAll('harmonisation-check', [
        { label: 'harmonisation check', kind: 'harmonisation-check', spec: { sites: all, reference: this.s.reference, epsilon: 1, minSites: all.length, ...this.limits() } },
      ]);
    } else this.s.board.log('harmonisation check skipped: the pretrained model ships no intensity reference');

    // Fine-tuning vs scratch: one wave per variant, each site training its own model in parallel.
    const variants: TrainingVariant[] = sizes.finetuneFractions.flatMap((dataFraction) => (['pretrained', 'scratch'] as const).map((start) => ({ start, dataFraction })));
    const trained = new Map<string, { variant: TrainingVariant; model: string }[]>(all.map((site) => [site, []]));
    for (const variant of variants) {
      const jobs = await this.runAll(
        'finetune-training',
        all.map((site) => ({
          label: `train ${site} ${variantLabel(variant)}`,
          kind: 'train',
          spec: { site, architecture: sizes.architecture, initialModel: variant.start === 'pretrained' ? pretrainedHash : null, config: this.training(sizes.epochs, variant.dataFraction), ...this.limits() },
        })),
      );
      jobs.forEach((job, i) => {
        const model = (job.summary as { model?: string } | null)?.model;
        if (job.status === 'completed' && model) trained.get(all[i]!)!.push({ variant, model });
      });
    }

    const [fedavg] = await this.runAll('fedavg', [
      {
        label: 'FedAvg progressive',
        kind: 'fedavg',
        spec: {
          sites: all,
          rounds: sizes.fedRounds,
          localEpochs: sizes.fedLocalEpochs,
          architecture: sizes.architecture,
          initialModel: pretrainedHash,
          config: this.training(sizes.fedLocalEpochs),
          minSites: 2,
          progressive: { initialSites: 2, addPerRound: 1 },
          compareWithLocal: false,
          ...this.limits(),
        },
      },
    ]);

    // Cross-site: the pretrained model, each site's own fine-tuned model (100 %), the federated model.
    const federated = (fedavg!.summary as { finalModel?: string; rounds?: { participants: { site: string }[] }[] } | null) ?? null;
    const local = all.flatMap((site) => trained.get(site)!.filter((t) => t.variant.start === 'pretrained' && t.variant.dataFraction === 1).map((t) => ({ label: `local:${site}`, hash: t.model, trainedAt: [site] })));
    const federatedSites = [...new Set((federated?.rounds ?? []).flatMap((r) => r.participants.map((p) => p.site)))].sort();
    const models = [
      { label: 'pretrained', hash: pretrainedHash },
      ...local,
      ...(fedavg!.status === 'completed' && federated?.finalModel ? [{ label: 'federated', hash: federated.finalModel, trainedAt: federatedSites }] : []),
    ];
    await this.runAll('cross-site-evaluation', [{ label: 'cross-site evaluation', kind: 'evaluate', spec: { sites: all, models, minSites: 2, ...this.limits() } }]);

    // Fine-tuning comparison: each site scores its own variants on its own test split.
    await this.runAll(
      'finetune-evaluation',
      all
        .filter((site) => trained.get(site)!.length > 0)
        .map((site) => ({
          label: `fine-tuning scores ${site}`,
          kind: 'evaluate',
          spec: { sites: [site], models: trained.get(site)!.map((t) => ({ label: variantLabel(t.variant), hash: t.model })), minSites: 1, ...this.limits() },
        })),
    );
  }
}
