/**
 * `npm run bench:train`: U-Net training and inference throughput on the selected backend against
 * the PyTorch CPU peer (../shared/bench/torch_unet.py, same network, batch and thread count) in the
 * same run, plus peak RSS and the per-kernel profile of one training step.
 * Options: --steps N (lite; paper uses fewer), --only lite|paper, --no-peer, LGEFED_BACKEND/THREADS.
 * Ends with one JSON line of figures.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine, type EngineInfo } from '../index.js';
import { initialWeights, UNet, UNetTrainer, unetSpec, type Batch, type PresetName } from '../../model/index.js';

const run = promisify(execFile);
const PEER = resolve(process.cwd(), '../shared/bench/torch_unet.py');
const BATCH = 8;

interface Config {
  readonly preset: PresetName;
  readonly peerArgs: string[];
  readonly steps: number;
}

interface Measured {
  preset: PresetName;
  trainSlicesPerS: number;
  inferSlicesPerS: number;
  peakRssMiB: number;
  kernels: { name: string; ms: number; share: number }[];
  peer?: { train_slices_per_s: number; infer_slices_per_s: number; threads: number };
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

async function measure(config: Config): Promise<Measured> {
  const spec = unetSpec(config.preset);
  const model = new UNet(spec, initialWeights(spec, 1));
  const trainer = new UNetTrainer(model, { learningRate: 1e-3 });
  const batch = syntheticBatch(spec.inputSize, 7);
  await trainer.step(batch); // warm-up: operator creation, heap growth

  // Per-kernel time of one step; composite kernels (ours) include the kernels they call.
  const profile = await tf.profile(() => trainer.step(batch));
  const byKernel = new Map<string, number>();
  for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  const kernels = [...byKernel.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([name, ms]) => ({ name, ms, share: ms / total }));

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
  return { preset: config.preset, trainSlicesPerS, inferSlicesPerS, peakRssMiB: peakRssMiB(), kernels };
}

async function peer(config: Config, threads: number): Promise<Measured['peer']> {
  const args = [PEER, ...config.peerArgs, '--batch', String(BATCH), '--threads', String(threads), '--steps', String(config.steps)];
  const { stdout } = await run('/usr/bin/python3', args, { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Measured['peer'];
}

function fixed(value: number | undefined, digits = 2): string {
  return value === undefined ? '-' : value.toFixed(digits);
}

async function main(): Promise<void> {
  const steps = Number(argValue('--steps') ?? 5);
  const only = argValue('--only');
  const withPeer = !process.argv.includes('--no-peer');
  // The machine may be shared: the 1-minute load before and after goes with the figures.
  const loadBefore = loadavg()[0]!;
  const engine: EngineInfo = await initEngine();
  const configs: Config[] = [
    { preset: 'lite', peerArgs: ['--base', '16', '--stages', '5', '--cap', '256', '--size', '128'], steps },
    { preset: 'paper', peerArgs: ['--base', '32', '--stages', '6', '--cap', '1024', '--size', '256'], steps: Math.max(1, Math.ceil(steps / 3)) },
  ].filter((c) => only === undefined || c.preset === only) as Config[];
  const peerThreads = Math.max(1, engine.threads);
  const peerAvailable = withPeer && existsSync(PEER);
  if (withPeer && !peerAvailable) console.log(`PyTorch peer not found at ${PEER}: ratios skipped`);

  const results: Measured[] = [];
  for (const config of configs) {
    const measured = await measure(config);
    if (peerAvailable) {
      try {
        measured.peer = await peer(config, peerThreads);
      } catch (error) {
        console.log(`PyTorch peer failed for ${config.preset}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    results.push(measured);
  }

  const loadAfter = loadavg()[0]!;
  console.log(`\nbackend: ${engine.backend}, ${engine.threads} thread(s) — ${engine.reason}; batch ${BATCH}; PyTorch ${peerThreads} thread(s)`);
  console.log(`1-min load average: ${loadBefore.toFixed(1)} at start, ${loadAfter.toFixed(1)} at end (${availableParallelism()} cores)\n`);
  console.log('| model | train slices/s | PyTorch train | ratio | infer slices/s | PyTorch infer | ratio | peak RSS MiB |');
  console.log('|---|---|---|---|---|---|---|---|');
  const figures: Record<string, number | string | null> = {
    backend: engine.backend,
    threads: engine.threads,
    batch: BATCH,
    load_start: +loadBefore.toFixed(2),
    load_end: +loadAfter.toFixed(2),
  };
  for (const r of results) {
    const trainRatio = r.peer ? r.trainSlicesPerS / r.peer.train_slices_per_s : undefined;
    const inferRatio = r.peer ? r.inferSlicesPerS / r.peer.infer_slices_per_s : undefined;
    console.log(
      `| ${r.preset} | ${fixed(r.trainSlicesPerS)} | ${fixed(r.peer?.train_slices_per_s)} | ${fixed(trainRatio, 3)} | ${fixed(r.inferSlicesPerS)} | ${fixed(r.peer?.infer_slices_per_s)} | ${fixed(inferRatio, 3)} | ${fixed(r.peakRssMiB, 0)} |`,
    );
    Object.assign(figures, {
      [`${r.preset}_train_slices_per_s`]: +r.trainSlicesPerS.toFixed(3),
      [`${r.preset}_infer_slices_per_s`]: +r.inferSlicesPerS.toFixed(3),
      [`${r.preset}_peer_train_slices_per_s`]: r.peer?.train_slices_per_s ?? null,
      [`${r.preset}_peer_infer_slices_per_s`]: r.peer?.infer_slices_per_s ?? null,
      [`${r.preset}_train_ratio`]: trainRatio === undefined ? null : +trainRatio.toFixed(3),
      [`${r.preset}_infer_ratio`]: inferRatio === undefined ? null : +inferRatio.toFixed(3),
      [`${r.preset}_peak_rss_mib`]: Math.round(r.peakRssMiB),
    });
  }
  for (const r of results) {
    console.log(`\n${r.preset}: one training step by kernel (top 10)`);
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
