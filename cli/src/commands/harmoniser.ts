/**
 * `lgefed harmoniser train`: trains the CycleGAN harmoniser at a site, between its own images and a
 * public reference cohort (EMIDEC), and saves the site → reference generator for
 * `lgefed evaluate --harmonise cyclegan --harmoniser DIR`. Nothing leaves the machine.
 */
import {
  CYCLEGAN_PRESETS,
  cycleGanPreset,
  renderTranslationGallery,
  saveCycleGanGenerator,
  splitCycleGanCohorts,
  spreadPick,
  trainCycleGan,
  translateImages,
  translationDistanceSpec,
  validateCycleGanSpec,
  type CycleGanProgress,
  type CycleGanSpec,
} from '@lgefed/shared/cyclegan/index';
import { encodePng } from '@lgefed/shared/imaging/index';
import { renderPng } from '@lgefed/shared/plots/index';
import { DEFAULT_SPACING, loadModelDirectory, PRETRAINED_MODEL_DIR } from '@lgefed/shared/workflows/index';
import { UsageError, type Command } from '../command.js';
import { integer, layoutOf, parseFlags, positiveInteger, positiveNumber, required, type FlagValue } from '../flags.js';
import { loadCases } from '../load-cases.js';
import { progressBar } from '../progress-bar.js';

export const harmoniserTrain: Command = {
  name: 'harmoniser train',
  summary: 'train a CycleGAN harmoniser between this site\'s images and a public reference cohort',
  usage: `Usage: lgefed harmoniser train --data SITE_DIR --reference DIR --out DIR [--layout L] [--reference-layout L]
                               [--model DIR] [--preset ${Object.keys(CYCLEGAN_PRESETS).join('|')}] [--iterations N] [--batch N]
                               [--seed S] [--image-pool N] [--schedule constant|linear] [--validation F]
                               [--validate-every N] [--no-balance] [--generator-features N]
                               [--residual-blocks N] [--discriminator-features N] [--patch N] [--json]

Learns the site → reference appearance mapping on unlabelled slices of both cohorts, at the in-plane
spacing the segmentation model (--model, default the shipped EMIDEC model) works at. --reference is a
public cohort such as ../shared/data/emidec-lge-slices. Default: preset site, 400 iterations, 4 patches
per domain per step, no image pool, a constant rate. Zhu et al.'s recipe: --preset paper --image-pool 50
--schedule linear (their networks on 256x256 patches; slow on a CPU); the size flags override the
preset's networks and patch side. Each cohort's cases are split (--validation, default 0.2 held out)
and the training slices balanced 50 / 50 (the larger cohort's a seeded subset; --no-balance keeps
all). Every --validate-every iterations (default a tenth of the run) the held-out site slices are
translated and their Wasserstein-1 distance to the held-out reference slices measured: DIR gets
report.json (split, cost, distances, losses), distance.png (W1 against iterations) and gallery.png
(rows: held-out site slices, the same translated, held-out reference slices). Then: lgefed evaluate
--harmonise cyclegan --harmoniser DIR.`,
  async run(args) {
    const o = parseFlags(args, {
      data: { type: 'string' },
      layout: { type: 'string' },
      reference: { type: 'string' },
      'reference-layout': { type: 'string' },
      model: { type: 'string' },
      preset: { type: 'string' },
      iterations: { type: 'string' },
      batch: { type: 'string' },
      seed: { type: 'string' },
      'image-pool': { type: 'string' },
      schedule: { type: 'string' },
      validation: { type: 'string' },
      'validate-every': { type: 'string' },
      'no-balance': { type: 'boolean' },
      'generator-features': { type: 'string' },
      'residual-blocks': { type: 'string' },
      'discriminator-features': { type: 'string' },
      patch: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    });
    const out = required(o.out, '--out');
    const spec = sizedSpec(cycleGanPreset(typeof o.preset === 'string' ? o.preset : 'site'), o);
    const iterations = positiveInteger(o.iterations, '--iterations') ?? 400;
    const validationFraction = positiveNumber(o.validation, '--validation') ?? 0.2;
    if (validationFraction >= 1) throw new UsageError(`--validation must be below 1, got ${validationFraction}`);
    const every = positiveInteger(o['validate-every'], '--validate-every') ?? Math.max(1, Math.round(iterations / 10));
    const seed = integer(o.seed, '--seed') ?? 0;
    const schedule = typeof o.schedule === 'string' ? o.schedule : 'constant';
    if (schedule !== 'constant' && schedule !== 'linear') throw new UsageError(`--schedule must be constant or linear, got '${schedule}'`);
    const imagePool = integer(o['image-pool'], '--image-pool') ?? 0;
    if (imagePool < 0) throw new UsageError('--image-pool must be 0 or more');
    const model = await loadModelDirectory(typeof o.model === 'string' ? o.model : PRETRAINED_MODEL_DIR);
    const spacing = model.training?.spacing ?? DEFAULT_SPACING;
    const site = await loadCases(required(o.data, '--data'), layoutOf(o.layout));
    const reference = await loadCases(required(o.reference, '--reference'), layoutOf(o['reference-layout']));
    const cohorts = splitCycleGanCohorts(site, reference, { validationFraction, seed, spacing, balance: !o['no-balance'] });
    let distance = '';
    const bar = o.json
      ? undefined
      : progressBar((p: CycleGanProgress) => {
          if (p.wasserstein1 !== undefined) distance = ` W1 ${p.wasserstein1.toFixed(4)}`;
          return `generator ${p.generatorLoss.toFixed(3)} cycle ${p.cycleLoss.toFixed(3)} discriminator ${p.discriminatorLoss.toFixed(3)}${distance}`;
        });
    const trained = await trainCycleGan({
      spec,
      siteImages: cohorts.train.site,
      referenceImages: cohorts.train.reference,
      iterations,
      batchSize: positiveInteger(o.batch, '--batch') ?? 4,
      seed,
      imagePool,
      schedule,
      validation: { siteImages: cohorts.validation.site, referenceImages: cohorts.validation.reference, every },
      ...(bar ? { onProgress: bar.update } : {}),
    });
    bar?.done();
    const shown = spreadPick(cohorts.validation.site, GALLERY_COLUMNS);
    const translated = await translateImages(spec, trained.generator, shown);
    const gallery = renderTranslationGallery(
      [shown, shown.map((s, i) => ({ ...s, image: translated[i]! })), spreadPick(cohorts.validation.reference, GALLERY_COLUMNS)],
      GALLERY_COLUMNS,
    );
    const [before, after] = [trained.distances[0]!, trained.distances.at(-1)!];
    const report = {
      spec,
      iterations,
      seconds: Math.round(trained.seconds),
      secondsPerIteration: +(trained.stepSeconds / iterations).toPrecision(3),
      backend: trained.backend,
      spacing,
      cases: cohorts.cases,
      slices: { train: { site: cohorts.train.site.length, reference: cohorts.train.reference.length }, validation: { site: cohorts.validation.site.length, reference: cohorts.validation.reference.length } },
      distances: trained.distances,
      wasserstein1: { untrained: before.wasserstein1, trained: after.wasserstein1 },
      finalLosses: { generator: trained.generatorLosses.at(-1), cycle: trained.cycleLosses.at(-1), discriminator: trained.discriminatorLosses.at(-1) },
      gallery: 'rows: held-out site slices; the same translated to the reference look; held-out reference slices',
    };
    const chart = translationDistanceSpec(trained.distances, `CycleGAN ${spec.generatorFeatures}-feature generator, ${spec.residualBlocks} residual blocks, ${spec.patchSize}² patches`);
    await saveCycleGanGenerator(out, spec, trained.generator, spacing, [
      { name: 'report.json', data: `${JSON.stringify(report, null, 2)}\n` },
      { name: 'gallery.png', data: encodePng(gallery.pixels, gallery.width, gallery.height, 1) },
      { name: 'distance.png', data: await renderPng(chart) },
    ]);
    const summary = { out, iterations, seconds: report.seconds, secondsPerIteration: report.secondsPerIteration, siteCases: site.length, referenceCases: reference.length, spacing, wasserstein1: report.wasserstein1, finalCycleLoss: trained.cycleLosses.at(-1) ?? null, backend: trained.backend };
    if (o.json) console.log(JSON.stringify(summary));
    else {
      console.log(`saved ${out}: ${iterations} iterations in ${summary.seconds} s (${report.secondsPerIteration} s per training step) on ${site.length} site and ${reference.length} reference case(s), final cycle loss ${summary.finalCycleLoss?.toFixed(4)}`);
      console.log(`held-out site slices to the reference: Wasserstein-1 ${before.wasserstein1.toFixed(4)} untrained, ${after.wasserstein1.toFixed(4)} after training (report.json, distance.png, gallery.png)`);
    }
    return 0;
  },
};

const GALLERY_COLUMNS = 4;

/** The preset with the networks and patch side the size flags give. */
function sizedSpec(preset: CycleGanSpec, o: Record<string, FlagValue>): CycleGanSpec {
  return validateCycleGanSpec({
    ...preset,
    generatorFeatures: positiveInteger(o['generator-features'], '--generator-features') ?? preset.generatorFeatures,
    residualBlocks: integer(o['residual-blocks'], '--residual-blocks') ?? preset.residualBlocks,
    discriminatorFeatures: positiveInteger(o['discriminator-features'], '--discriminator-features') ?? preset.discriminatorFeatures,
    patchSize: positiveInteger(o.patch, '--patch') ?? preset.patchSize,
  });
}

export const harmoniserCommands: readonly Command[] = [harmoniserTrain];
