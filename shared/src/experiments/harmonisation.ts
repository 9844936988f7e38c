/**
 * Fig. 7: a model trained at the reference site, tested at every other site with its images left
 * as they are, histogram-matched to the reference's intensity profile, or translated by a CycleGAN
 * trained at that site between its own (training-pool) images and the reference cohort; once per
 * reference site.
 */
import { cycleGanTrainingSlices, cycleGanTransform } from '../cyclegan/volumes.js';
import { trainCycleGan } from '../cyclegan/train.js';
import { wasserstein1 } from '../harmonise/distances.js';
import { buildReferenceProfile, type ReferenceIntensityProfile } from '../harmonise/profile.js';
import type { Case } from '../types.js';
import type { ImageTransform } from '../workflows/evaluate.js';
import { cohortProfile, intensityHarmonisation } from '../workflows/harmonise.js';
import { diceRows, scoreArm, trainArm, type DiceRow } from './arms.js';
import type { HarmonisationArm } from './config.js';
import { ArmCounter, scoringOptions, site, type RunContext } from './context.js';

export interface HarmonisationResults {
  readonly referenceSites: readonly string[];
  /** Factors: referenceSite, method. */
  readonly rows: DiceRow[];
  /** Wasserstein-1 between each site's (harmonised) test images and the reference profile, normalised intensities. */
  readonly distances: { referenceSite: string; testSite: string; method: HarmonisationArm; wasserstein1: number }[];
  readonly cyclegan: { referenceSite: string; testSite: string; iterations: number; seconds: number; finalCycleLoss: number }[];
}

async function transformed(cases: readonly Case[], transform: ImageTransform | undefined): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const c of cases) out.push(transform ? (await transform(c.image, c)).data : c.image.data);
  return out;
}

export async function runHarmonisationExperiment(context: RunContext): Promise<HarmonisationResults> {
  const { referenceSites, methods } = context.config.harmonisation;
  const others = context.sites.size - 1;
  const counter = new ArmCounter(context, referenceSites.length * (1 + others * methods.filter((m) => m === 'cyclegan').length));
  const results: HarmonisationResults = { referenceSites, rows: [], distances: [], cyclegan: [] };
  for (const referenceSite of referenceSites) {
    const toward = await harmoniseToward(context, referenceSite, counter);
    results.rows.push(...toward.rows);
    results.distances.push(...toward.distances);
    results.cyclegan.push(...toward.cyclegan);
  }
  return results;
}

/** One reference site's panel: its model tested at every other site under each method. */
async function harmoniseToward(context: RunContext, referenceSite: string, counter: ArmCounter): Promise<Omit<HarmonisationResults, 'referenceSites'>> {
  const { config } = context;
  const { methods, cyclegan } = config.harmonisation;
  const reference = site(context, referenceSite);
  const targets = [...context.sites.values()].filter((s) => s.name !== referenceSite);
  const rows: HarmonisationResults['rows'] = [];
  const distances: HarmonisationResults['distances'] = [];
  const cycleRuns: HarmonisationResults['cyclegan'] = [];
  const model = await trainArm({ spec: config.model, cases: reference.pool, training: config.training }, counter.next(`train ${referenceSite}`));
  // The reference cohort as a site would receive it: an intensity profile only.
  const profile: ReferenceIntensityProfile = cohortProfile(reference.pool);
  const referenceSlices = methods.includes('cyclegan') ? cycleGanTrainingSlices(reference.pool, config.training.spacing) : [];
  for (const target of targets) {
    for (const method of methods) {
      let transform: ImageTransform | undefined;
      if (method === 'histogram') transform = intensityHarmonisation('histogram', profile);
      if (method === 'cyclegan') {
        const label = `CycleGAN ${target.name} → ${referenceSite}`;
        counter.next(label);
        const trained = await trainCycleGan({
          spec: cyclegan.spec,
          siteImages: cycleGanTrainingSlices(target.pool, config.training.spacing),
          referenceImages: referenceSlices,
          iterations: cyclegan.iterations,
          batchSize: cyclegan.batchSize,
          learningRate: cyclegan.learningRate,
          seed: cyclegan.seed,
          imagePool: cyclegan.imagePool,
          schedule: cyclegan.schedule,
          ...(context.backend ? { backend: context.backend } : {}),
          ...(context.signal ? { signal: context.signal } : {}),
          onProgress: (p) => context.emit({ type: 'training', label, iteration: p.iteration, iterations: p.iterations, loss: p.generatorLoss, etaSeconds: p.etaSeconds }),
        });
        cycleRuns.push({ referenceSite, testSite: target.name, iterations: cyclegan.iterations, seconds: trained.seconds, finalCycleLoss: trained.cycleLosses.at(-1)! });
        const translate = cycleGanTransform(cyclegan.spec, trained.generator, { spacing: config.training.spacing, ...(context.backend ? { backend: context.backend } : {}) });
        transform = (image) => translate(image);
      }
      const scores = await scoreArm(model, target.test, transform, scoringOptions(context));
      rows.push(...diceRows({ referenceSite, method }, target.name, scores));
      const harmonised = buildReferenceProfile(await transformed(target.test, transform), { bins: profile.histogram.counts.length });
      distances.push({ referenceSite, testSite: target.name, method, wasserstein1: wasserstein1(harmonised.histogram, profile.histogram) });
      context.emit({ type: 'note', message: `${target.name} / ${method} (toward ${referenceSite}): Dice ${scores.dice.bloodpool.mean.toFixed(3)} / ${scores.dice.myocardium.mean.toFixed(3)}` });
    }
  }
  return { rows, distances, cyclegan: cycleRuns };
}
