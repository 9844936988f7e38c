/**
 * The study, run as federated jobs on the coordinator: harmonisation check; each site's model
 * fine-tuned from the pretrained one without and with augmentation; encoder fine-tuning of the
 * pretrained model on 10 % and 100 % of each site's cases against training from scratch (the
 * coordinator's `finetune` sweep); FedAvg from the pretrained model with progressive inclusion of
 * sites; the cross-site evaluation of the pretrained, single-centre and federated models.
 */
import type { ReferenceIntensityProfile } from '@lgefed/shared/harmonise/index';
import type { AdminClient } from '../commands/admin.js';
import { submitJob, waitForJob, type FinishedJob, type JobRequest } from './jobs.js';
import type { ProgressBoard } from './progress.js';
import type { DemoSizes } from './sizes.js';

export const STUDY_STEPS = ['harmonisation-check', 'augmentation-training', 'finetune', 'fedavg', 'cross-site-evaluation'] as const;
export type StudyStep = (typeof STUDY_STEPS)[number];

export interface StudyJob {
  readonly step: StudyStep;
  readonly job: FinishedJob;
}

/** The augmentation presets single-centre models are trained with: none, and the study's. */
const AUGMENTATIONS = ['none', 'paper'] as const;

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

  private training(epochs: number, augmentation?: string) {
    const { sizes, seed } = this.s;
    return { epochs, seed, batchSize: sizes.batchSize, learningRate: sizes.learningRate, ...(augmentation === undefined ? {} : { augmentation }) };
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

    // Single-centre models: the pretrained model trained on each site, without and with augmentation.
    const local = new Map<string, string>();
    for (const augmentation of AUGMENTATIONS) {
      const jobs = await this.runAll(
        'augmentation-training',
        all.map((site) => ({
          label: `train ${site} augmentation ${augmentation}`,
          kind: 'train',
          spec: { site, architecture: sizes.architecture, initialModel: pretrainedHash, config: this.training(sizes.epochs, augmentation), ...this.limits() },
        })),
      );
      jobs.forEach((job, i) => {
        const model = (job.summary as { model?: string } | null)?.model;
        if (job.status === 'completed' && model) local.set(`${all[i]!}/${augmentation}`, model);
      });
    }

    await this.runAll('finetune', [
      {
        label: 'encoder fine-tuning vs scratch',
        kind: 'finetune',
        spec: {
          sites: all,
          architecture: sizes.architecture,
          pretrainedModel: pretrainedHash,
          encoderBlocks: sizes.finetuneEncoderBlocks,
          dataFractions: sizes.finetuneFractions,
          scratchBaselines: true,
          config: this.training(sizes.epochs),
          minSites: all.length,
          ...this.limits(),
        },
      },
    ]);

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

    // Cross-site: the pretrained model, each site's own models (with augmentation: its single-centre model), the federated model.
    const federated = (fedavg!.summary as { finalModel?: string; rounds?: { participants: { site: string }[] }[] } | null) ?? null;
    const federatedSites = [...new Set((federated?.rounds ?? []).flatMap((r) => r.participants.map((p) => p.site)))].sort();
    const models = [
      { label: 'pretrained', hash: pretrainedHash },
      ...all.flatMap((site) => {
        const plain = local.get(`${site}/none`);
        const augmented = local.get(`${site}/paper`);
        return [...(plain ? [{ label: `${site} no-aug`, hash: plain }] : []), ...(augmented ? [{ label: `${site} aug`, hash: augmented, trainedAt: [site] }] : [])];
      }),
      ...(fedavg!.status === 'completed' && federated?.finalModel ? [{ label: 'federated', hash: federated.finalModel, trainedAt: federatedSites }] : []),
    ];
    await this.runAll('cross-site-evaluation', [{ label: 'cross-site evaluation', kind: 'evaluate', spec: { sites: all, models, minSites: 2, ...this.limits() } }]);
  }
}
