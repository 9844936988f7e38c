/**
 * `npm run bench:sim2real`: does a model trained only on phantom data find the LV on real LGE images?
 * Writes an EMIDEC-like phantom site in its own layout, loads it back like any site, trains the `lite`
 * U-Net on it (paper augmentation, wall-clock capped), then scores 3D Dice per structure on the real
 * EMIDEC slices (png-slices layout). The real data is only read here, never needed by the product.
 *
 * Environment: LGEFED_SIM2REAL_CASES (phantom cases, default 40), LGEFED_SIM2REAL_ITERATIONS (default
 * 4000), LGEFED_SIM2REAL_MAX_SECONDS (training cap, default 840), LGEFED_SIM2REAL_REAL (real data folder),
 * LGEFED_SIM2REAL_REAL_CASES (score only the first N real cases, for a quick check; default all).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../../imaging/dataset.js';
import { unetSpec } from '../../model/spec.js';
import { STRUCTURES } from '../../types.js';
import { evaluateModel } from '../../workflows/evaluate.js';
import { trainSegmentation } from '../../workflows/train.js';
import { writePhantomSiteInWorker } from '../run-in-worker.js';

const REAL_DIR = process.env.LGEFED_SIM2REAL_REAL ?? '/work/shared/data/emidec-lge-slices';
const CASES = Number(process.env.LGEFED_SIM2REAL_CASES ?? 40);
const ITERATIONS = Number(process.env.LGEFED_SIM2REAL_ITERATIONS ?? 4000);
const MAX_SECONDS = Number(process.env.LGEFED_SIM2REAL_MAX_SECONDS ?? 840);
const REAL_CASES = process.env.LGEFED_SIM2REAL_REAL_CASES ? Number(process.env.LGEFED_SIM2REAL_REAL_CASES) : undefined;
const SEED = 1;
const PROFILE = 'emidec';

const site = await mkdtemp(join(tmpdir(), 'lgefed-sim2real-'));
try {
  let t = performance.now();
  await writePhantomSiteInWorker({ profile: PROFILE, cases: CASES, seed: SEED, out: site });
  const phantom = await loadDataset(site, { layout: 'emidec' });
  if (phantom.problems.length > 0) throw new Error(`phantom site has problems: ${phantom.problems.map((p) => p.message).join('; ')}`);
  const generateSeconds = (performance.now() - t) / 1000;
  const slices = phantom.cases.reduce((n, c) => n + c.image.dims[2], 0);
  console.log(`phantom: ${phantom.cases.length} ${PROFILE}-like cases, ${slices} slices, written and loaded in ${generateSeconds.toFixed(1)} s`);

  t = performance.now();
  const trained = await trainSegmentation({
    spec: unetSpec('lite'),
    cases: phantom.cases,
    augmentation: 'paper',
    iterations: ITERATIONS,
    maxSeconds: MAX_SECONDS,
    seed: SEED,
    onProgress: (p) => {
      if (p.iteration % 25 === 0) console.log(`  iteration ${p.iteration}: loss ${p.loss.toFixed(3)}, ${p.slicesPerSecond.toFixed(1)} slices/s`);
    },
  });
  const trainSeconds = (performance.now() - t) / 1000;
  const { record } = trained;
  // The engine's line names the backend first, then why it skipped the others.
  const backend = record.backend.split(' — ')[0]!;
  console.log(`trained lite U-Net: ${record.iterations} iterations x ${record.batchSize} slices in ${trainSeconds.toFixed(0)} s on ${backend}${trained.stoppedByTimeLimit ? ' (stopped by the time limit)' : ''}`);

  const real = await loadDataset(REAL_DIR, { layout: 'png-slices' });
  t = performance.now();
  const report = await evaluateModel({ model: { spec: trained.spec, weights: trained.weights, id: trained.modelId, training: record }, cases: real.cases.slice(0, REAL_CASES) });
  const evaluateSeconds = (performance.now() - t) / 1000;
  // Cases where the model found nothing of a structure: "finds the LV" fails there outright.
  const missed = Object.fromEntries(STRUCTURES.map((s) => [s, report.cases.filter((c) => c.scores[s].predictedMl === 0).length]));

  console.log(`\nphantom-only lite U-Net on real EMIDEC LGE (${report.cases.length} cases, 3D Dice, mean ± sd):`);
  console.log('| structure | Dice mean | Dice sd | HD95 mm mean | cases with nothing predicted |');
  console.log('|---|---|---|---|---|');
  for (const s of STRUCTURES) {
    const d = report.summary.dice[s];
    const h = report.summary.hd95[s];
    console.log(`| ${s} | ${d.mean.toFixed(3)} | ${d.sd.toFixed(3)} | ${h ? h.mean.toFixed(1) : 'n/a'} | ${missed[s]} / ${report.cases.length} |`);
  }
  console.log(
    JSON.stringify({
      phantom_cases: phantom.cases.length,
      phantom_slices: slices,
      iterations: record.iterations,
      batch_size: record.batchSize,
      train_seconds: +trainSeconds.toFixed(0),
      stopped_by_time_limit: trained.stoppedByTimeLimit,
      backend,
      real_cases: report.cases.length,
      dice_bloodpool: +report.summary.dice.bloodpool.mean.toFixed(3),
      dice_myocardium: +report.summary.dice.myocardium.mean.toFixed(3),
      dice_bloodpool_sd: +report.summary.dice.bloodpool.sd.toFixed(3),
      dice_myocardium_sd: +report.summary.dice.myocardium.sd.toFixed(3),
      hd95_bloodpool_mm: report.summary.hd95.bloodpool ? +report.summary.hd95.bloodpool.mean.toFixed(1) : null,
      hd95_myocardium_mm: report.summary.hd95.myocardium ? +report.summary.hd95.myocardium.mean.toFixed(1) : null,
      missed_bloodpool: missed.bloodpool,
      missed_myocardium: missed.myocardium,
      evaluate_seconds: +evaluateSeconds.toFixed(0),
    }),
  );
} finally {
  await rm(site, { recursive: true, force: true });
}
