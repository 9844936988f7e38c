/**
 * `npm run bench:train`: U-Net training and inference throughput on the selected backend against
 * the PyTorch CPU peer (../shared/bench/torch_unet.py, same network, batch and thread count), run in
 * interleaved rounds (ours, peer, ours, ...; medians, spreads, load before each round, slices per
 * CPU-second), plus peak RSS and the per-kernel profile of one training step.
 * Options: --steps N (lite; paper uses fewer), --rounds N (default 3), --only lite|paper, --no-peer,
 * LGEFED_BACKEND/THREADS. Ends with one JSON line of figures.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine, type EngineInfo } from '../index.js';
import { initialWeights, UNet, UNetTrainer, unetSpec, type Batch, type PresetName } from '../../model/index.js';
import { interleavedJson, printInterleaved, roundsFlag, runInterleaved, type Interleaved, type Round, type Side } from '../../bench/interleaved.js';
import { runPythonPeer } from '../../bench/python-peer.js';

const PEER = resolve(process.cwd(), '../shared/bench/torch_unet.py');
const BATCH = 8;
/** torch_unet.py runs 2 untimed training steps and 1 untimed inference before its timed loops. */
const PEER_WARMUP = { train: 2, infer: 1 };

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
  await trainer.step(batch);
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

/** One round of ours, shaped like the peer's process: build, warm up, time training, time inference. */
async function oursRound(config: Config): Promise<Round> {
  const spec = unetSpec(config.preset);
  const batch = syntheticBatch(spec.inputSize, 7);
  const cpuStart = process.cpuUsage();
  const model = new UNet(spec, initialWeights(spec, 1));
  const trainer = new UNetTrainer(model, { learningRate: 1e-3 });
  await trainer.step(batch); // operator creation, heap growth

  let start = performance.now();
  for (let i = 0; i < config.steps; i++) await trainer.step(batch);
  const trainSlicesPerS = (BATCH * config.steps) / ((performance.now() - start) / 1000);

  const input = tf.tensor4d(batch.images, [BATCH, spec.inputSize, spec.inputSize, spec.inChannels]);
  const infer = async () => {
    const logits = tf.tidy(() => model.forward(input, [0]).get(0)!);
    await logits.data();
    logits.dispose();
  };
  await infer();
  start = performance.now();
  for (let i = 0; i < config.steps; i++) await infer();
  const inferSlicesPerS = (BATCH * config.steps) / ((performance.now() - start) / 1000);
  input.dispose();
  trainer.dispose();
  model.dispose();
  const cpu = process.cpuUsage(cpuStart);
  return {
    figures: { train_slices_per_s: trainSlicesPerS, infer_slices_per_s: inferSlicesPerS },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    work: BATCH * 2 * (config.steps + 1),
  };
}

/** One run of the PyTorch peer; its CPU seconds come from its own getrusage, torch already imported. */
async function peerRound(config: Config, threads: number): Promise<Round> {
  const args = [...config.peerArgs, '--batch', String(BATCH), '--threads', String(threads), '--steps', String(config.steps)];
  const { stdout, cpuSeconds } = await runPythonPeer(PEER, args, { preload: ['torch'] });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { train_slices_per_s: number; infer_slices_per_s: number };
  return {
    figures: { train_slices_per_s: r.train_slices_per_s, infer_slices_per_s: r.infer_slices_per_s },
    cpuSeconds,
    work: BATCH * (PEER_WARMUP.train + PEER_WARMUP.infer + 2 * config.steps),
  };
}

async function main(): Promise<void> {
  const steps = Number(argValue('--steps') ?? 5);
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
  console.log(`backend: ${engine.backend}, ${engine.threads} thread(s) — ${engine.reason}; batch ${BATCH}; PyTorch ${peerThreads} thread(s)`);

  const results: { config: Config; kernels: Kernel[]; rounds: Interleaved; peakRssMiB: number }[] = [];
  for (const config of configs) {
    const kernels = await profileStep(config.preset);
    const sides: Record<string, Side> = { ours: () => oursRound(config) };
    if (peerAvailable) sides['pytorch'] = () => peerRound(config, peerThreads);
    const measured = await runInterleaved(sides, { rounds, unit: 'slices' });
    printInterleaved(`${config.preset} (${config.steps} step(s) per round)`, measured);
    results.push({ config, kernels, rounds: measured, peakRssMiB: peakRssMiB() });
  }

  const figures: Record<string, unknown> = {
    backend: engine.backend,
    threads: engine.threads,
    batch: BATCH,
    quiet: results.every((r) => r.rounds.quiet),
  };
  for (const { config, rounds: r, peakRssMiB: rss } of results) {
    const ours = r.sides['ours']?.median;
    const peer = r.sides['pytorch']?.median;
    const fixed = (v: number | undefined) => (v === undefined ? null : +v.toFixed(3));
    Object.assign(figures, {
      [`${config.preset}_train_slices_per_s`]: fixed(ours?.['train_slices_per_s']),
      [`${config.preset}_infer_slices_per_s`]: fixed(ours?.['infer_slices_per_s']),
      [`${config.preset}_peer_train_slices_per_s`]: fixed(peer?.['train_slices_per_s']),
      [`${config.preset}_peer_infer_slices_per_s`]: fixed(peer?.['infer_slices_per_s']),
      [`${config.preset}_train_ratio`]: fixed(r.ratios['train_slices_per_s']),
      [`${config.preset}_infer_ratio`]: fixed(r.ratios['infer_slices_per_s']),
      [`${config.preset}_peak_rss_mib`]: Math.round(rss),
      [config.preset]: interleavedJson(r),
    });
  }
  for (const r of results) {
    console.log(`\n${r.config.preset}: one training step by kernel (top 10); peak RSS ${r.peakRssMiB.toFixed(0)} MiB`);
    console.log('| kernel | ms | share |');
    console.log('|---|---|---|');
    for (const k of r.kernels) console.log(`| ${k.name} | ${k.ms.toFixed(1)} | ${(k.share * 100).toFixed(1)}% |`);
  }
  console.log(JSON.stringify(figures));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
