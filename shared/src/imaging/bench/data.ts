/**
 * `npm run bench:data`: load + preprocess throughput (slices/s) for NIfTI volumes and PNG slices against
 * a nibabel/numpy and scikit-image peer doing the same work, and phantom generation (cases/s).
 * Loading must stay ≥ 10x the lite training rate (PyTorch CPU lite training: ~20 slices/s here).
 * Ours and the peer run in interleaved rounds (--rounds N, default 3); figures are medians.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { interleavedJson, printInterleaved, roundsFlag, runInterleaved, type Interleaved, type Round } from '../../bench/interleaved.js';
import { discoverDataset, loadCase, preprocessCase, DEFAULT_LABEL_MAPS } from '../index.js';
import { generatePhantomCase, PROFILES, writePhantomSite } from '../../phantom/index.js';

const run = promisify(execFile);
const NIFTI_DIR = process.env.LGEFED_BENCH_NIFTI ?? '/work/shared/data/sunnybrook-cine-nifti';
const PNG_DIR = process.env.LGEFED_BENCH_PNG ?? '/work/shared/data/emidec-lge-slices';
const LITE_TRAIN_SLICES_PER_S = 20;
const SIZE = 128;

/** Throughput by wall clock; the runner adds slices per CPU-second (all threads), which holds up on a loaded machine. */
async function ours(dir: string, repeats: number): Promise<Round> {
  const found = await discoverDataset(dir);
  const context = { labelMap: DEFAULT_LABEL_MAPS[found.layout], defaultSpacing: [1.5, 1.5, 10] as const };
  // One untimed pass first: JIT warm-up, as the peer's imports happen before its clock starts.
  for (const entry of found.entries) preprocessCase(await loadCase(entry, context), { size: SIZE });
  let slices = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  for (let r = 0; r < repeats; r++) {
    for (const entry of found.entries) {
      const c = await loadCase(entry, context);
      slices += preprocessCase(c, { size: SIZE }).slices.length;
    }
  }
  const cpu = process.cpuUsage(cpuStart);
  return { figures: { slices_per_s: slices / ((performance.now() - started) / 1000) }, cpuSeconds: (cpu.user + cpu.system) / 1e6, work: slices };
}

/** The peer: nibabel (NIfTI) or scikit-image (PNG) reads, numpy label-centred crop/pad and min-max. */
const PEER = `
import sys, os, glob, time, json, re
import numpy as np
kind, folder, repeats, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def prep(img, lab):
    out = 0
    ys, xs = np.nonzero(lab.max(axis=2) > 0) if lab.any() else (np.array([img.shape[0] // 2]), np.array([img.shape[1] // 2]))
    cy, cx = int(round(ys.mean() - (size - 1) / 2)), int(round(xs.mean() - (size - 1) / 2))
    pad = np.pad(img, ((size, size), (size, size), (0, 0)), mode="edge")
    crop = pad[cy + size:cy + 2 * size, cx + size:cx + 2 * size, :]
    lo, hi = crop.min(axis=(0, 1)), crop.max(axis=(0, 1))
    norm = (crop - lo) / np.where(hi > lo, hi - lo, 1)
    return img.shape[2]
import nibabel as nib
from skimage import io
slices = 0
start, cpu_start = time.perf_counter(), time.process_time()
if kind == "nifti":
    files = sorted(f for f in glob.glob(folder + "/*.nii*") if "_gt" not in f)
    for _ in range(repeats):
        for f in files:
            img = np.asarray(nib.load(f).dataobj, dtype=np.float32)
            lab = np.asarray(nib.load(f.replace(".nii", "_gt.nii")).dataobj)
            slices += prep(img, lab)
else:
    names = sorted(os.listdir(folder + "/images"))
    cases = {}
    for n in names:
        cases.setdefault(re.sub(r"_slice\\d+\\.png$", "", n), []).append(n)
    for _ in range(repeats):
        for case, files in cases.items():
            img = np.stack([io.imread(folder + "/images/" + n).astype(np.float32) for n in files], axis=2)
            lab = np.stack([io.imread(folder + "/labels/" + n) for n in files], axis=2)
            slices += prep(img, lab)
print(json.dumps({"figures": {"slices_per_s": slices / (time.perf_counter() - start)}, "cpuSeconds": time.process_time() - cpu_start, "work": slices}))
`;

/** Its CPU seconds are its own process_time() over the timed loop, as ours counts only its loop. */
async function peer(kind: 'nifti' | 'png', dir: string, repeats: number): Promise<Round> {
  const { stdout } = await run('/usr/bin/python3', ['-c', PEER, kind, dir, String(repeats), String(SIZE)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as Round;
}

async function phantomRates(): Promise<Record<string, { generate: number; write: number }>> {
  const out: Record<string, { generate: number; write: number }> = {};
  const dir = await mkdtemp(join(tmpdir(), 'lgefed-bench-phantom-'));
  try {
    for (const name of Object.keys(PROFILES)) {
      const n = 3;
      let t = performance.now();
      for (let i = 0; i < n; i++) generatePhantomCase(PROFILES[name]!, 1, i);
      const generate = n / ((performance.now() - t) / 1000);
      t = performance.now();
      await writePhantomSite({ profile: name, cases: n, seed: 1, out: join(dir, name) });
      const write = n / ((performance.now() - t) / 1000);
      out[name] = { generate, write };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

const f1 = (v: number) => v.toFixed(1);
const rounds = roundsFlag();
const nifti = await runInterleaved({ ours: () => ours(NIFTI_DIR, 10), nibabel: () => peer('nifti', NIFTI_DIR, 10) }, { rounds, unit: 'slices' });
printInterleaved(`load + preprocess NIfTI (Sunnybrook, gz int16) to ${SIZE}x${SIZE}, 1 thread`, nifti);
const png = await runInterleaved({ ours: () => ours(PNG_DIR, 2), 'scikit-image': () => peer('png', PNG_DIR, 2) }, { rounds, unit: 'slices' });
printInterleaved(`load + preprocess PNG slices (EMIDEC, 491 slices) to ${SIZE}x${SIZE}, 1 thread`, png);
const phantom = await phantomRates();
const target = 10 * LITE_TRAIN_SLICES_PER_S;
const med = (r: Interleaved, side: string, figure: string) => r.sides[side]?.median[figure];
const ratio = (r: Interleaved, figure: string) => (r.ratios[figure] === undefined ? null : +r.ratios[figure].toFixed(2));
const rate = (r: Interleaved, side: string, figure: string) => {
  const v = med(r, side, figure);
  return v === undefined ? null : +f1(v);
};
const lowest = (figure: string) => Math.min(med(nifti, 'ours', figure) ?? NaN, med(png, 'ours', figure) ?? NaN);

console.log(`\nloading ≥ 10x lite training (${target} slices/s): ${lowest('slices_per_cpu_s') >= target ? 'yes' : 'NO'} per CPU second, ${lowest('slices_per_s') >= target ? 'yes' : 'no'} per wall second`);
console.log('\nphantom generation (cases/s):');
console.log('| profile | generate | generate + write in its layout |');
console.log('|---|---|---|');
for (const [name, r] of Object.entries(phantom)) console.log(`| ${name} | ${r.generate.toFixed(2)} | ${r.write.toFixed(2)} |`);
console.log(
  JSON.stringify({
    quiet: nifti.quiet && png.quiet,
    nifti_slices_per_s: rate(nifti, 'ours', 'slices_per_s'),
    nifti_slices_per_cpu_s: rate(nifti, 'ours', 'slices_per_cpu_s'),
    nifti_peer_slices_per_s: rate(nifti, 'nibabel', 'slices_per_s'),
    nifti_peer_slices_per_cpu_s: rate(nifti, 'nibabel', 'slices_per_cpu_s'),
    nifti_ratio: ratio(nifti, 'slices_per_s'),
    nifti_cpu_ratio: ratio(nifti, 'slices_per_cpu_s'),
    png_slices_per_s: rate(png, 'ours', 'slices_per_s'),
    png_slices_per_cpu_s: rate(png, 'ours', 'slices_per_cpu_s'),
    png_peer_slices_per_s: rate(png, 'scikit-image', 'slices_per_s'),
    png_peer_slices_per_cpu_s: rate(png, 'scikit-image', 'slices_per_cpu_s'),
    png_ratio: ratio(png, 'slices_per_s'),
    png_cpu_ratio: ratio(png, 'slices_per_cpu_s'),
    loading_vs_lite_training: +(lowest('slices_per_s') / LITE_TRAIN_SLICES_PER_S).toFixed(1),
    loading_vs_lite_training_cpu: +(lowest('slices_per_cpu_s') / LITE_TRAIN_SLICES_PER_S).toFixed(1),
    ...Object.fromEntries(Object.entries(phantom).map(([k, v]) => [`phantom_${k}_cases_per_s`, +v.generate.toFixed(2)])),
    nifti: interleavedJson(nifti),
    png: interleavedJson(png),
  }),
);
