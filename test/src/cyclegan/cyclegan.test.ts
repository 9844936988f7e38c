import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CycleGanError,
  CycleGanStalledError,
  cycleGanPreset,
  generatorLayout,
  ImagePool,
  initialCycleGanWeights,
  intensityHistogram,
  learningRateAt,
  loadCycleGanGenerator,
  pickWeights,
  saveCycleGanGenerator,
  splitCycleGanCohorts,
  trainCycleGan,
  translateImages,
  validateCycleGanSpec,
  type GreyImage,
} from '@lgefed/shared/cyclegan/index';
import { wasserstein1 } from '@lgefed/shared/harmonise/index';
import type { Case } from '@lgefed/shared/types';

const tiny = cycleGanPreset('tiny');

/** A short-axis-like slice: bright disc in a darker ring; `gain` plays a vendor's intensity scaling. */
function ringImage(size: number, shift: number, gain: number): GreyImage {
  const image = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const r = Math.hypot(x - size / 2 - shift, y - size / 2);
      const base = r < size / 6 ? 0.8 : r < size / 3 ? 0.3 : 0.15 + 0.05 * Math.sin(x + 2 * y);
      image[y * size + x] = Math.min(1, base * gain);
    }
  }
  return { image, width: size, height: size };
}

const mean = (images: readonly Float32Array[]): number => images.reduce((s, a) => s + a.reduce((t, v) => t + v, 0), 0) / images.reduce((n, a) => n + a.length, 0);

describe('cyclegan: site harmonisation', function () {
  this.timeout(180_000);
  const site = [0, 1, 2, 3].map((s) => ringImage(32, s - 1.5, 0.55));
  const reference = [0, 1, 2, 3].map((s) => ringImage(32, 1.5 - s, 1.2));

  it('rejects bad specs and images with a typed error', async () => {
    assert.throws(() => validateCycleGanSpec({ ...tiny, patchSize: 18 }), CycleGanError);
    assert.throws(() => validateCycleGanSpec({ ...tiny, architecture: 'unet' }), CycleGanError);
    assert.throws(() => cycleGanPreset('huge'), CycleGanError);
    const bright = { image: new Float32Array(32 * 32).fill(2), width: 32, height: 32 };
    await assert.rejects(trainCycleGan({ spec: tiny, siteImages: [bright], referenceImages: reference, iterations: 1 }), CycleGanError);
    const small = { image: new Float32Array(8 * 8), width: 8, height: 8 };
    await assert.rejects(trainCycleGan({ spec: tiny, siteImages: [small], referenceImages: reference, iterations: 1 }), /at least 16/);
  });

  it('an untrained generator is the identity, on any image size', async () => {
    const generator = pickWeights(generatorLayout(tiny, 'toReference'), initialCycleGanWeights(tiny, 1));
    const odd = ringImage(33, 0, 0.6);
    const [out] = await translateImages(tiny, generator, [odd]);
    assert.equal(out!.length, 33 * 33);
    assert.ok(out!.every((v, i) => Math.abs(v - odd.image[i]!) < 1e-6));
  });

  it('trains reproducibly in a worker', async () => {
    const options = { spec: tiny, siteImages: site, referenceImages: reference, iterations: 3, batchSize: 2, seed: 3 };
    const progress: number[] = [];
    const a = await trainCycleGan({ ...options, onProgress: (p) => progress.push(p.iteration) });
    const b = await trainCycleGan(options);
    assert.deepEqual(a.generatorLosses, b.generatorLosses);
    assert.deepEqual(a.generator, b.generator);
    assert.deepEqual(progress, [1, 2, 3]);
  });

  it("keeps Zhu et al.'s image history: the discriminator sees earlier fakes half the time once the pool is full", () => {
    const images = (first: number, count: number) => Float32Array.from({ length: count * 4 }, (_, i) => first + Math.floor(i / 4));
    const pool = new ImagePool(3, 7);
    // Filling: each image passes through and is kept.
    assert.deepEqual(pool.query(images(0, 2), 2), images(0, 2));
    assert.deepEqual(pool.query(images(2, 1), 1), images(2, 1));
    let earlier = 0;
    for (let step = 0; step < 40; step++) {
      const out = pool.query(images(100 + step, 1), 1);
      assert.ok(out.every((v) => v === out[0]), 'whole images, never mixed');
      if (out[0]! < 100 + step) earlier++;
    }
    assert.ok(earlier > 10 && earlier < 30, `${earlier} of 40 from the history`);
    // Seeded: the same queries give the same batches.
    const replay = (seed: number) => {
      const p = new ImagePool(2, seed);
      return Array.from({ length: 12 }, (_, step) => Array.from(p.query(images(step, 1), 1)));
    };
    assert.deepEqual(replay(9), replay(9));
    assert.deepEqual(new ImagePool(0, 1).query(images(5, 2), 2), images(5, 2), 'capacity 0 passes everything through');
  });

  it('decays the rate linearly over the second half when asked (Zhu et al.)', () => {
    assert.deepEqual([0, 5, 9].map((i) => learningRateAt('constant', 2e-4, i, 10)), [2e-4, 2e-4, 2e-4]);
    assert.deepEqual([0, 4, 5, 6, 9].map((i) => learningRateAt('linear', 1, i, 10)), [1, 1, 1, 0.8, 0.2]);
  });

  it("has the paper's networks as a preset, and trains with the image pool and the linear schedule reproducibly", async () => {
    const paper = cycleGanPreset('paper');
    assert.deepEqual([paper.generatorFeatures, paper.residualBlocks, paper.discriminatorFeatures, paper.discriminatorLayers, paper.patchSize], [64, 9, 64, 3, 256]);
    validateCycleGanSpec(paper);
    const options = { spec: tiny, siteImages: site, referenceImages: reference, iterations: 4, batchSize: 2, seed: 3 };
    const pooled = { ...options, imagePool: 2, schedule: 'linear' as const };
    const [a, b, plain] = [await trainCycleGan(pooled), await trainCycleGan(pooled), await trainCycleGan(options)];
    assert.deepEqual(a.discriminatorLosses, b.discriminatorLosses);
    assert.deepEqual(a.generator, b.generator);
    assert.notDeepEqual(a.discriminatorLosses.slice(2), plain.discriminatorLosses.slice(2), 'the pool and schedule change training');
  });

  it('moves site intensities toward the reference, and a saved generator translates the same', async () => {
    // A short, fast run (high step size, no identity term): the direction of the change is what is checked.
    const validation = { siteImages: site.slice(0, 2), referenceImages: reference.slice(0, 2), every: 10 };
    const a = await trainCycleGan({ spec: tiny, siteImages: site, referenceImages: reference, iterations: 30, batchSize: 4, seed: 3, learningRate: 2e-2, identityWeight: 0, validation });
    // Measured before training (the identity: the held-out slices as they are), every 10 iterations and at the end.
    assert.deepEqual(a.distances.map((d) => d.iteration), [0, 10, 20, 30]);
    const untranslated = wasserstein1(intensityHistogram(validation.siteImages.map((i) => i.image)), intensityHistogram(validation.referenceImages.map((i) => i.image)));
    assert.ok(untranslated > 0);
    assert.equal(a.distances[0]!.wasserstein1, untranslated);
    assert.ok(a.distances.every((d) => Number.isFinite(d.wasserstein1) && d.wasserstein1 >= 0));
    assert.notEqual(a.distances.at(-1)!.wasserstein1, untranslated, 'the trained generator changes the held-out slices');
    const before = mean(site.map((s) => s.image));
    const target = mean(reference.map((s) => s.image));
    const after = mean(await translateImages(tiny, a.generator, site));
    assert.ok(Math.abs(after - target) < 0.85 * Math.abs(before - target), `mean ${before.toFixed(3)} → ${after.toFixed(3)}, reference ${target.toFixed(3)}`);

    const directory = await mkdtemp(join(tmpdir(), 'lgefed-cyclegan-'));
    try {
      await saveCycleGanGenerator(directory, a.spec, a.generator, [1.5, 1.25]);
      const loaded = await loadCycleGanGenerator(directory);
      assert.deepEqual(loaded.spec, tiny);
      assert.deepEqual(loaded.spacing, [1.5, 1.25]);
      const [fromDisk] = await translateImages(loaded.spec, loaded.generator, site.slice(0, 1));
      const [fromMemory] = await translateImages(tiny, a.generator, site.slice(0, 1));
      assert.deepEqual(fromDisk, fromMemory);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('splits both cohorts by case and balances the training slices 50 / 50', () => {
    const volume = (id: string, slices: number, gain: number): Case => {
      const planes = Array.from({ length: slices }, (_, k) => ringImage(32, k - slices / 2, gain).image);
      const data = new Float32Array(32 * 32 * slices);
      planes.forEach((p, k) => data.set(p, k * 32 * 32));
      return { id, image: { data, dims: [32, 32, slices], spacing: [1.5, 1.5, 10] }, source: id };
    };
    const siteCases = ['s1', 's2', 's3'].map((id) => volume(id, 3, 0.55));
    const referenceCases = Array.from({ length: 10 }, (_, i) => volume(`r${i}`, 4, 1));
    const options = { validationFraction: 0.2, seed: 4, spacing: [1.5, 1.5] as [number, number] };
    const split = splitCycleGanCohorts(siteCases, referenceCases, options);
    assert.equal(split.cases.site.validation.length, 1);
    assert.equal(split.cases.site.train.length, 2);
    assert.equal(split.cases.reference.validation.length, 2);
    assert.equal(split.cases.reference.train.length, 8);
    assert.ok(split.cases.site.train.every((id) => !split.cases.site.validation.includes(id)));
    assert.equal(split.train.site.length, 6);
    assert.equal(split.train.reference.length, 6, 'as many reference slices as site slices');
    assert.equal(split.validation.site.length, 3);
    assert.equal(split.validation.reference.length, 8);
    assert.deepEqual(splitCycleGanCohorts(siteCases, referenceCases, options), split, 'seeded');
    assert.equal(splitCycleGanCohorts(siteCases, referenceCases, { ...options, balance: false }).train.reference.length, 32);
    assert.throws(() => splitCycleGanCohorts(siteCases.slice(0, 1), referenceCases, options), /at least 2 cases/);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const run = trainCycleGan({
      spec: tiny,
      siteImages: site,
      referenceImages: reference,
      iterations: 10_000,
      signal: controller.signal,
      onProgress: (p) => p.iteration === 2 && controller.abort(),
    });
    await assert.rejects(run, /cancelled after/);
  });

  it('trains again on one thread when its engine hangs on two (failpoint LGEFED_FAILPOINT_ENGINE_HANG), ending as a one-thread run', async () => {
    const options = { spec: tiny, siteImages: site, referenceImages: reference, iterations: 4, batchSize: 2, seed: 2, backend: 'wasm', stallSeconds: 2 } as const;
    const lines: string[] = [];
    const progress: number[] = [];
    process.env['LGEFED_FAILPOINT_ENGINE_HANG'] = '2';
    let restarted, refused;
    try {
      restarted = await trainCycleGan({ ...options, threads: 2, onLog: (line) => lines.push(line), onProgress: (p) => progress.push(p.iteration) });
      refused = await trainCycleGan({ ...options, threads: 2, retryStalledOnOneThread: false }).then(
        () => assert.fail('without the retry a stalled run must reject'),
        (e: unknown) => e,
      );
    } finally {
      delete process.env['LGEFED_FAILPOINT_ENGINE_HANG'];
    }
    const oneThread = await trainCycleGan({ ...options, threads: 1 });
    assert.equal(restarted.stallRestart?.threads, 2);
    assert.deepEqual(progress, [1, 2, 1, 2, 3, 4], 'two iterations, the stall, then the whole run on one thread');
    assert.deepEqual(restarted.generatorLosses, oneThread.generatorLosses);
    assert.deepEqual(restarted.weights.map((w) => Array.from(w.data)), oneThread.weights.map((w) => Array.from(w.data)));
    assert.ok(lines.some((line) => /CycleGAN training stalled: no word from its worker .*; starting again on one wasm thread/.test(line)), lines.join('\n'));
    assert.ok(refused instanceof CycleGanStalledError && refused.engine?.threads === 2, String(refused));
  });
});
