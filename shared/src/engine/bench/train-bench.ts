/**
 * `npm run bench:train`: U-Net training and inference throughput on the selected backend against
 * the PyTorch CPU peer (../shared/bench/torch_unet.py, same network, batch and thread count), and
 * inference on onnxruntime-node (same batch, size and threads; one lane per thread, and one session
 * of all threads for comparison; also whole 256x256 slices by sliding windows), run in interleaved
 * rounds (ours, peer, ours-onnx, ours-onnx-session, ours, ...; medians, spreads, load and
 * other processes' CPU before each round, slices per CPU-second), plus peak RSS and the per-kernel
 * profile of one training step. Each round of ours and of the onnx sides runs in a fresh child
 * process (this script with --round ours|onnx|onnx-session), as the peer's does: each side's peak
 * RSS is that of one process doing only that round's work (one model), not of this parent, which
 * also profiles a step.
 * Options: --steps N (lite; paper uses fewer), --rounds N (default 3), --only lite|paper, --no-peer,
 * --round-timeout S (a child round still running after S seconds is taken as hung and rerun once;
 * default 900), --plot FILE (a PNG of every side's slices/s in every round), LGEFED_BACKEND/THREADS.
 * Ends with one JSON line of figures.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine, type EngineInfo } from '../index.js';
import { initialWeights, slidingWindowProbabilities, TfjsProbabilityEngine, UNet, UNetTrainer, unetSpec, windowStarts, type Batch, type PresetName, type ProbabilityEngine } from '../../model/index.js';
import { OnnxProbabilityEngine, onnxRuntimeAvailable } from '../../onnx/index.js';
import { interleavedJson, printInterleaved, roundsFlag, runInterleaved, type Interleaved, type Round, type Side } from '../../bench/interleaved.js';
import { roundRows, roundsFigureSpec } from '../../bench/rounds-figure.js';
import { renderPng } from '../../plots/render.js';
import { runPythonPeer } from '../../bench/python-peer.js';
import { runChildRound } from '../../bench/child-round.js';

const PEER = resolve(process.cwd(), '../shared/bench/torch_unet.py');
const BATCH = 8;
/**
 * The peer at its best: PyTorch's OpenMP threads bound to cores. Unbound, this VM's scheduler now and
 * then runs both on one core, and the peer's inference swings between 44 and 84 slices/s from run to
 * run (lite, 2 threads); bound, 110-115 (2026-12-06). A probe pinning our onnx lanes' threads showed no gain.
 */
const PEER_ENV = { OMP_PROC_BIND: 'true' };

/** torch_unet.py runs 2 untimed training steps and 1 untimed inference before its timed loops. */
const PEER_WARMUP = { train: 2, infer: 1 };
/** Side of the whole slices: a short-axis slice at the working spacing; 9 lite windows, 1 paper window. */
const WHOLE = 256;
const WHOLE_FIGURE = `whole_${WHOLE}_slices_per_s`;

interface Config {
  readonly preset: PresetName;
  readonly peerArgs: string[];
  readonly steps: number;
}

interface Kernel {
  name: string;
  ms: number;
  share: number;
}

function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/** A fixed synthetic batch: noise images, random labels (speed does not depend on content). */
function syntheticBatch(size: number, seed: number): Batch {
  let state = seed;
  const next = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const pixels = BATCH * size * size;
  const images = new Float32Array(pixels).map(() => next() * 2 - 1);
  const labels = new Uint8Array(pixels).map(() => Math.floor(next() * 3));
  return { images, labels, count: BATCH, size };
}

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Per-kernel time of one step, outside the timed rounds; it also warms the kernels up for round 1. */
async function profileStep(preset: PresetName): Promise<Kernel[]> {
  const spec = unetSpec(preset);
  const model = new UNet(spec, initialWeights(spec, 1));
  const trainer = new UNetTrainer(model, { learningRate: 1e-3 });
  const batch = syntheticBatch(spec.inputSize, 7);
  // Two untimed steps: the wasm heap still grows in the second, and the kernel whose allocation
  // grows it (the first full-size Concat) would carry tens of milliseconds that later steps do not pay.
  for (let warmup = 0; warmup < 2; warmup++) await trainer.step(batch);
  // Composite kernels (ours) include the kernels they call.
  const profile = await tf.profile(() => trainer.step(batch));
  trainer.dispose();
  model.dispose();
  const byKernel = new Map<string, number>();
  for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  return [...byKernel.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([name, ms]) => ({ name, ms, share: ms / total }));
}

/** Slices/s of `steps` timed calls of `slices` slices each, after `warmups` untimed calls (operator and session set-up, heap growth). */
async function slicesPerSecond(run: () => Promise<unknown>, slices: number, steps: number, warmups = 1): Promise<number> {
  for (let i = 0; i < warmups; i++) await run();
  const start = performance.now();
  for (let i = 0; i < steps; i++) await run();
  return (slices * steps) / ((performance.now() - start) / 1000);
}

/** Batch inference through the ProbabilityEngine call whole-image inference makes (softmax included). */
const inferBatch = (engine: ProbabilityEngine, batch: Batch) => () => engine.probabilities(batch.images, batch.count, batch.size);

/** What a child process of this script measures in one round, printed as its last line. */
interface ChildRoundReport extends Round {
  readonly peakRssMiB: number;
}

/** One round of ours, in the child process, shaped like the peer's: build, warm up, time training, time inference. */
async function oursRound(preset: PresetName, steps: number): Promise<ChildRoundReport> {
  const spec = unetSpec(preset);
  const batch = syntheticBatch(spec.inputSize, 7);
  const cpuStart = process.cpuUsage();
  const model = new UNet(spec, initialWeights(spec, 1));
  const trainer = new UNetTrainer(model, { learningRate: 1e-3 });
  // Two untimed steps, as in profileStep: the wasm heap still grows in the second.
  const trainSlicesPerS = await slicesPerSecond(() => trainer.step(batch), BATCH, steps, 2);
  const engine = new TfjsProbabilityEngine(model, tf.getBackend());
  const inferSlicesPerS = await slicesPerSecond(inferBatch(engine, batch), BATCH, steps);
  trainer.dispose();
  await engine.dispose();
  const cpu = process.cpuUsage(cpuStart);
  return {
    figures: { train_slices_per_s: trainSlicesPerS, infer_slices_per_s: inferSlicesPerS },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    work: BATCH * (2 * steps + 3),
    peakRssMiB: peakRssMiB(),
  };
}

/**
 * One round of inference on onnxruntime-node, in the child process: the batch ours and the peer
 * infer, then whole WHOLE x WHOLE slices by Gaussian-weighted sliding windows (50 % overlap, no
 * mirroring), BATCH windows per call.
 */
async function onnxRound(preset: PresetName, steps: number, threads: number, lanes: number): Promise<ChildRoundReport> {
  const spec = unetSpec(preset);
  const batch = syntheticBatch(spec.inputSize, 7);
  const whole = syntheticBatch(WHOLE, 11);
  const plane = WHOLE * WHOLE;
  const slices = Array.from({ length: whole.count }, (_, i) => ({ image: whole.images.subarray(i * plane, (i + 1) * plane), width: WHOLE, height: WHOLE }));
  const cpuStart = process.cpuUsage();
  const engine = await OnnxProbabilityEngine.load(spec, initialWeights(spec, 1), { threads, lanes });
  const inferSlicesPerS = await slicesPerSecond(inferBatch(engine, batch), BATCH, steps);
  const wholeSlicesPerS = await slicesPerSecond(() => slidingWindowProbabilities(engine, slices, { window: spec.inputSize, batchSize: BATCH }), whole.count, steps);
  await engine.dispose();
  const cpu = process.cpuUsage(cpuStart);
  return {
    figures: { infer_slices_per_s: inferSlicesPerS, [WHOLE_FIGURE]: wholeSlicesPerS },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    work: (BATCH + whole.count) * (steps + 1),
    peakRssMiB: peakRssMiB(),
  };
}

/**
 * A side of ours (`ours`: the engine under test; `onnx`: onnxruntime, one lane per thread;
 * `onnx-session`: one session of all threads) in a fresh child process per round, as the peer's;
 * its peak RSS is kept in `peaks`.
 */
async function childRound(side: 'ours' | 'onnx' | 'onnx-session', config: Config, engine: EngineInfo, threads: number, peaks: number[]): Promise<Round> {
  const args = [fileURLToPath(import.meta.url), '--round', side, '--preset', config.preset, '--steps', String(config.steps), '--threads', String(threads)];
  // The child starts the engine this process chose.
  const env = { ...process.env, LGEFED_BACKEND: engine.backend, LGEFED_THREADS: String(engine.threads) };
  const timeoutSeconds = Number(argValue('--round-timeout') ?? 900);
  const onStall = (attempt: number) => console.error(`\n!!! ${side} round (${config.preset}) hung: no result in ${timeoutSeconds} s (attempt ${attempt}); killed${attempt === 1 ? ', running it once more' : ''} !!!\n`);
  const stdout = await runChildRound(process.execPath, args, { env, timeoutSeconds, onStall });
  const report = JSON.parse(stdout.trim().split('\n').pop()!) as ChildRoundReport;
  peaks.push(report.peakRssMiB);
  return { figures: report.figures, cpuSeconds: report.cpuSeconds, work: report.work };
}

/** One run of the PyTorch peer; its CPU seconds come from its own getrusage, torch already imported. */
async function peerRound(config: Config, threads: number): Promise<Round> {
  const args = [...config.peerArgs, '--batch', String(BATCH), '--threads', String(threads), '--steps', String(config.steps)];
  const { stdout, cpuSeconds } = await runPythonPeer(PEER, args, { preload: ['torch'], env: PEER_ENV });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { train_slices_per_s: number; infer_slices_per_s: number };
  return {
    figures: { train_slices_per_s: r.train_slices_per_s, infer_slices_per_s: r.infer_slices_per_s },
    cpuSeconds,
    work: BATCH * (PEER_WARMUP.train + PEER_WARMUP.infer + 2 * config.steps),
  };
}

async function main(): Promise<void> {
  const steps = Number(argValue('--steps') ?? 5);
  const childSide = argValue('--round');
  if (childSide !== undefined) {
    const preset = argValue('--preset') as PresetName;
    if (childSide === 'ours') await initEngine({ log: () => {} });
    const threads = Number(argValue('--threads'));
    console.log(JSON.stringify(childSide === 'ours' ? await oursRound(preset, steps) : await onnxRound(preset, steps, threads, childSide === 'onnx-session' ? 1 : threads)));
    return;
  }
  const rounds = roundsFlag();
  const only = argValue('--only');
  const withPeer = !process.argv.includes('--no-peer');
  const engine: EngineInfo = await initEngine();
  const configs: Config[] = [
    { preset: 'lite', peerArgs: ['--base', '16', '--stages', '5', '--cap', '256', '--size', '128'], steps },
    { preset: 'paper', peerArgs: ['--base', '32', '--stages', '6', '--cap', '1024', '--size', '256'], steps: Math.max(1, Math.ceil(steps / 3)) },
  ].filter((c) => only === undefined || c.preset === only) as Config[];
  const peerThreads = Math.max(1, engine.threads);
  const peerAvailable = withPeer && existsSync(PEER);
  if (withPeer && !peerAvailable) console.log(`PyTorch peer not found at ${PEER}: ratios skipped`);
  const onnxAvailable = await onnxRuntimeAvailable();
  if (!onnxAvailable) console.log('onnxruntime-node does not load here: onnx rows skipped');
  console.log(`backend: ${engine.backend}, ${engine.threads} thread(s) — ${engine.reason}; batch ${BATCH}; PyTorch and onnxruntime ${peerThreads} thread(s)`);
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a / b);
  const show = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));

  const results: { config: Config; kernels: Kernel[]; rounds: Interleaved; peakRssMiB: number; onnxPeakRssMiB?: number }[] = [];
  for (const config of configs) {
    const kernels = await profileStep(config.preset);
    const oursPeaks: number[] = [];
    const onnxPeaks: number[] = [];
    const sides: Record<string, Side> = { ours: () => childRound('ours', config, engine, engine.threads, oursPeaks) };
    if (peerAvailable) sides['pytorch'] = () => peerRound(config, peerThreads);
    if (onnxAvailable) sides['ours-onnx'] = () => childRound('onnx', config, engine, peerThreads, onnxPeaks);
    // What the lanes add: the same inference in one session that uses every thread.
    if (onnxAvailable && peerThreads > 1) sides['ours-onnx-session'] = () => childRound('onnx-session', config, engine, peerThreads, []);
    const measured = await runInterleaved(sides, { rounds, unit: 'slices' });
    printInterleaved(`${config.preset} (${config.steps} step(s) per round)`, measured);
    const onnx = measured.sides['ours-onnx']?.median;
    if (onnx) {
      const infer = onnx['infer_slices_per_s'];
      console.log(`onnx/pytorch inference ${show(ratio(infer, measured.sides['pytorch']?.median['infer_slices_per_s']))}, onnx/${engine.backend} ${show(ratio(infer, measured.sides['ours']?.median['infer_slices_per_s']))}`);
      const session = measured.sides['ours-onnx-session']?.median['infer_slices_per_s'];
      if (session !== undefined) console.log(`onnx in lanes (one per thread) against one session of ${peerThreads} threads: ${show(infer)} / ${show(session)} slices/s (${show(ratio(infer, session))}x)`);
      const window = unetSpec(config.preset).inputSize;
      const windows = windowStarts(WHOLE, window).length ** 2;
      console.log(
        `whole ${WHOLE}x${WHOLE} slices on onnx, ${windows} window(s) of ${window} each: ${show(onnx[WHOLE_FIGURE])} slices/s against ${show(infer)} at one window per slice (${show(ratio(onnx[WHOLE_FIGURE], infer))}x)`,
      );
    }
    const onnxPeakRssMiB = onnxPeaks.length > 0 ? Math.max(...onnxPeaks) : undefined;
    results.push({ config, kernels, rounds: measured, peakRssMiB: Math.max(...oursPeaks), ...(onnxPeakRssMiB === undefined ? {} : { onnxPeakRssMiB }) });
  }

  const figures: Record<string, unknown> = {
    backend: engine.backend,
    threads: engine.threads,
    batch: BATCH,
    quiet: results.every((r) => r.rounds.quiet),
  };
  for (const { config, rounds: r, peakRssMiB: rss, onnxPeakRssMiB: onnxRss } of results) {
    const ours = r.sides['ours']?.median;
    const peer = r.sides['pytorch']?.median;
    const onnx = r.sides['ours-onnx']?.median;
    const session = r.sides['ours-onnx-session']?.median;
    const fixed = (v: number | undefined) => (v === undefined ? null : +v.toFixed(3));
    Object.assign(figures, {
      [`${config.preset}_train_slices_per_s`]: fixed(ours?.['train_slices_per_s']),
      [`${config.preset}_infer_slices_per_s`]: fixed(ours?.['infer_slices_per_s']),
      [`${config.preset}_peer_train_slices_per_s`]: fixed(peer?.['train_slices_per_s']),
      [`${config.preset}_peer_infer_slices_per_s`]: fixed(peer?.['infer_slices_per_s']),
      [`${config.preset}_onnx_infer_slices_per_s`]: fixed(onnx?.['infer_slices_per_s']),
      [`${config.preset}_onnx_${WHOLE_FIGURE}`]: fixed(onnx?.[WHOLE_FIGURE]),
      [`${config.preset}_onnx_session_infer_slices_per_s`]: fixed(session?.['infer_slices_per_s']),
      [`${config.preset}_onnx_lanes_gain`]: fixed(ratio(onnx?.['infer_slices_per_s'], session?.['infer_slices_per_s'])),
      [`${config.preset}_train_ratio`]: fixed(ratio(ours?.['train_slices_per_s'], peer?.['train_slices_per_s'])),
      [`${config.preset}_infer_ratio`]: fixed(ratio(ours?.['infer_slices_per_s'], peer?.['infer_slices_per_s'])),
      [`${config.preset}_onnx_peer_infer_ratio`]: fixed(ratio(onnx?.['infer_slices_per_s'], peer?.['infer_slices_per_s'])),
      [`${config.preset}_onnx_ours_infer_ratio`]: fixed(ratio(onnx?.['infer_slices_per_s'], ours?.['infer_slices_per_s'])),
      [`${config.preset}_peak_rss_mib`]: Math.round(rss),
      [`${config.preset}_onnx_peak_rss_mib`]: onnxRss === undefined ? null : Math.round(onnxRss),
      [config.preset]: interleavedJson(r),
    });
  }
  for (const r of results) {
    const onnxRss = r.onnxPeakRssMiB === undefined ? '' : `; onnx inference process ${r.onnxPeakRssMiB.toFixed(0)} MiB`;
    console.log(`\n${r.config.preset}: one training step by kernel (top 10); peak RSS of the training process ${r.peakRssMiB.toFixed(0)} MiB${onnxRss}`);
    console.log('| kernel | ms | share |');
    console.log('|---|---|---|');
    for (const k of r.kernels) console.log(`| ${k.name} | ${k.ms.toFixed(1)} | ${(k.share * 100).toFixed(1)}% |`);
  }
  console.log(JSON.stringify(figures));
  const plot = argValue('--plot');
  if (plot) {
    const rows = results.flatMap((r) => roundRows(r.config.preset, r.rounds, ['train_slices_per_s', 'infer_slices_per_s']));
    writeFileSync(plot, await renderPng(roundsFigureSpec(rows, `bench:train, slices/s in each interleaved round (${engine.backend}, ${engine.threads} threads, batch ${BATCH})`)));
    console.log(`plot: ${plot}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
