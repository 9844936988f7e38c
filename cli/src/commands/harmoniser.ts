/**
 * `lgefed harmoniser train`: trains the CycleGAN harmoniser at a site, between its own images and a
 * public reference cohort (EMIDEC), and saves the site → reference generator for
 * `lgefed evaluate --harmonise cyclegan --harmoniser DIR`. Nothing leaves the machine.
 */
import { CYCLEGAN_PRESETS, cycleGanPreset, cycleGanTrainingSlices, saveCycleGanGenerator, trainCycleGan, type CycleGanProgress } from '@lgefed/shared/cyclegan/index';
import { DEFAULT_SPACING, loadModelDirectory, PRETRAINED_MODEL_DIR } from '@lgefed/shared/workflows/index';
import { UsageError, type Command } from '../command.js';
import { integer, layoutOf, parseFlags, positiveInteger, required } from '../flags.js';
import { loadCases } from '../load-cases.js';
import { progressBar } from '../progress-bar.js';

export const harmoniserTrain: Command = {
  name: 'harmoniser train',
  summary: 'train a CycleGAN harmoniser between this site\'s images and a public reference cohort',
  usage: `Usage: lgefed harmoniser train --data SITE_DIR --reference DIR --out DIR [--layout L] [--reference-layout L]
                               [--model DIR] [--preset ${Object.keys(CYCLEGAN_PRESETS).join('|')}] [--iterations N] [--batch N]
                               [--seed S] [--image-pool N] [--schedule constant|linear] [--json]

Learns the site → reference appearance mapping on unlabelled slices of both cohorts, at the in-plane
spacing the segmentation model (--model, default the shipped EMIDEC model) works at. --reference is a
public cohort such as ../shared/data/emidec-lge-slices. Default: preset site, 400 iterations, 4 patches
per domain per step, no image pool, a constant rate. Zhu et al.'s recipe: --preset paper --image-pool 50
--schedule linear (their networks on 256x256 patches; slow on a CPU). Then: lgefed evaluate --harmonise
cyclegan --harmoniser DIR.`,
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
      out: { type: 'string' },
      json: { type: 'boolean' },
    });
    const out = required(o.out, '--out');
    const spec = cycleGanPreset(typeof o.preset === 'string' ? o.preset : 'site');
    const iterations = positiveInteger(o.iterations, '--iterations') ?? 400;
    const schedule = typeof o.schedule === 'string' ? o.schedule : 'constant';
    if (schedule !== 'constant' && schedule !== 'linear') throw new UsageError(`--schedule must be constant or linear, got '${schedule}'`);
    const imagePool = integer(o['image-pool'], '--image-pool') ?? 0;
    if (imagePool < 0) throw new UsageError('--image-pool must be 0 or more');
    const model = await loadModelDirectory(typeof o.model === 'string' ? o.model : PRETRAINED_MODEL_DIR);
    const spacing = model.training?.spacing ?? DEFAULT_SPACING;
    const site = await loadCases(required(o.data, '--data'), layoutOf(o.layout));
    const reference = await loadCases(required(o.reference, '--reference'), layoutOf(o['reference-layout']));
    const bar = o.json ? undefined : progressBar((p: CycleGanProgress) => `generator ${p.generatorLoss.toFixed(3)} cycle ${p.cycleLoss.toFixed(3)} discriminator ${p.discriminatorLoss.toFixed(3)}`);
    const trained = await trainCycleGan({
      spec,
      siteImages: cycleGanTrainingSlices(site, spacing),
      referenceImages: cycleGanTrainingSlices(reference, spacing),
      iterations,
      batchSize: positiveInteger(o.batch, '--batch') ?? 4,
      seed: integer(o.seed, '--seed') ?? 0,
      imagePool,
      schedule,
      ...(bar ? { onProgress: bar.update } : {}),
    });
    bar?.done();
    await saveCycleGanGenerator(out, spec, trained.generator, spacing);
    const summary = { out, iterations, seconds: Math.round(trained.seconds), siteCases: site.length, referenceCases: reference.length, spacing, finalCycleLoss: trained.cycleLosses.at(-1) ?? null, backend: trained.backend };
    if (o.json) console.log(JSON.stringify(summary));
    else console.log(`saved ${out}: ${iterations} iterations in ${summary.seconds} s on ${site.length} site and ${reference.length} reference case(s), final cycle loss ${summary.finalCycleLoss?.toFixed(4)}`);
    return 0;
  },
};

export const harmoniserCommands: readonly Command[] = [harmoniserTrain];
