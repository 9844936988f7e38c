/**
 * Augmentation and histogram-matching throughput against a Python peer (scipy.ndimage / skimage /
 * numpy doing the same operations on the same 256x256 EMIDEC slices). `npm run bench:augment`.
 * Ours and the peer run in interleaved rounds (--rounds N, default 3); figures are medians.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { applyOperators, Augmenter, galleryOperators, Prng, type OperatorSpec } from '@lgefed/shared/augment/index';
import { interleavedJson, printInterleaved, roundsFlag, runInterleaved, type Round } from '@lgefed/shared/bench/interleaved';
import { buildHistogram, matchHistogram } from '@lgefed/shared/harmonise/index';
import { EMIDEC_DIR, loadEmidecSlice } from './emidec-fixture.js';
import { SYSTEM_PYTHON } from '../harmonise/skimage.js';

const SLICES = ['Case_N006_slice002', 'Case_N006_slice003', 'Case_N006_slice004', 'Case_P002_slice003', 'Case_P002_slice004'];
const REPEATS = 40;
const OUT = 192;

function msPerCall(fn: (i: number) => void): number {
  fn(0);
  const start = performance.now();
  for (let i = 0; i < REPEATS; i++) fn(i);
  return (performance.now() - start) / REPEATS;
}

const samples = SLICES.map((name) => loadEmidecSlice(name));
const size = { outputWidth: OUT, outputHeight: OUT };
const byName = new Map(galleryOperators().map((op) => [op.kind === 'gamma' && op.inverted ? 'inverse gamma' : op.kind === 'flip' ? `flip ${op.axis}` : op.kind, op]));
const single = (name: string): OperatorSpec => ({ ...byName.get(name)!, p: 1 });
const prng = new Prng(1);
const paper = new Augmenter('paper', { seed: 2, ...size });
const reference = samples[4]!.image;
const referenceHistogram = buildHistogram(reference, { bins: 256, low: 0, high: 1 });

/** One round: ms per slice of every operation; CPU over all of them, warm-up calls included as in the peer. */
function oursRound(): Round {
  const cpuStart = process.cpuUsage();
  const ms: Record<string, number> = {};
  ms['rotate+rescale+crop'] = msPerCall((i) => applyOperators(samples[i % 5]!, [single('rotate'), single('rescale')], 'random', size, prng));
  ms['bilateral'] = msPerCall((i) => applyOperators(samples[i % 5]!, [single('bilateral')], 'random', size, prng));
  ms['gaussianNoise'] = msPerCall((i) => applyOperators(samples[i % 5]!, [single('gaussianNoise')], 'random', size, prng));
  ms['gamma'] = msPerCall((i) => applyOperators(samples[i % 5]!, [single('gamma')], 'random', size, prng));
  ms['paper preset (p = 0.2 each)'] = msPerCall((i) => paper.augment(samples[i % 5]!));
  ms['histogram matching'] = msPerCall((i) => matchHistogram(samples[i % 4]!.image, referenceHistogram));
  const cpu = process.cpuUsage(cpuStart);
  return { figures: ms, cpuSeconds: (cpu.user + cpu.system) / 1e6, work: Object.keys(ms).length * (REPEATS + 1) };
}

const PEER = String.raw`
import sys, time, json, numpy as np
from PIL import Image
from scipy import ndimage
from skimage.restoration import denoise_bilateral
from skimage.exposure import match_histograms
d, names, R, OUT = sys.argv[1], sys.argv[2].split(','), int(sys.argv[3]), int(sys.argv[4])
imgs = [np.asarray(Image.open(f'{d}/images/{n}.png'), dtype=np.float32) / 255 for n in names]
labs = [np.asarray(Image.open(f'{d}/labels/{n}.png')) for n in names]
rng = np.random.default_rng(1)
def spatial(img, lab, rotate=True, rescale=True):
    th = np.deg2rad(rng.uniform(-30, 30)) if rotate else 0.0
    k = 1.6 / rng.uniform(0.75, 1.88) if rescale else 1.0
    m = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) / k
    c = (np.array(img.shape) - 1) / 2
    off = c - m @ ((np.array([OUT, OUT]) - 1) / 2 + rng.integers(-20, 21, 2))
    return (ndimage.affine_transform(img, m, off, (OUT, OUT), order=1),
            ndimage.affine_transform(lab, m, off, (OUT, OUT), order=0))
def crop(img, lab): return img[32:32+OUT, 32:32+OUT].copy(), lab[32:32+OUT, 32:32+OUT].copy()
def noise(x): return np.clip(x + rng.normal(0, rng.uniform(0, 0.03), x.shape), 0, 1)
def gamma(x): return np.clip(x ** rng.uniform(0.7, 1.5), 0, 1)
def bilateral(x): return denoise_bilateral(x, sigma_color=rng.uniform(0.05, 0.15), sigma_spatial=rng.uniform(0.5, 1.5), win_size=7)
def paper(img, lab):
    fire = rng.random(10) < 0.2
    if fire[0]: img, lab = img[:, ::-1], lab[:, ::-1]
    if fire[1]: img, lab = img[::-1], lab[::-1]
    img, lab = spatial(np.ascontiguousarray(img), np.ascontiguousarray(lab), fire[2], fire[3])
    if fire[4]: img = bilateral(img)
    if fire[5]: img = noise(img)
    if fire[6]: img = gamma(img)
    if fire[7]: img = 1 - gamma(1 - img)
    if fire[8]: img = np.clip(img + rng.uniform(-0.5, 0.5), 0, 1)
    if fire[9]: m = img.mean(); img = np.clip(m + (img - m) * (1 + rng.uniform(-0.5, 0.5)), 0, 1)
    return img, lab
def ms(fn):
    fn(0); t = time.perf_counter()
    for i in range(R): fn(i)
    return (time.perf_counter() - t) / R * 1000
cpu = time.process_time()
out = {
  'rotate+rescale+crop': ms(lambda i: spatial(imgs[i % 5], labs[i % 5])),
  'bilateral': ms(lambda i: bilateral(crop(imgs[i % 5], labs[i % 5])[0])),
  'gaussianNoise': ms(lambda i: noise(crop(imgs[i % 5], labs[i % 5])[0])),
  'gamma': ms(lambda i: gamma(crop(imgs[i % 5], labs[i % 5])[0])),
  'paper preset (p = 0.2 each)': ms(lambda i: paper(imgs[i % 5], labs[i % 5])),
  'histogram matching': ms(lambda i: match_histograms(imgs[i % 4], imgs[4])),
}
print(json.dumps({'figures': out, 'cpuSeconds': time.process_time() - cpu, 'work': len(out) * (R + 1)}))
`;
const peer = async (): Promise<Round> => JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', PEER, EMIDEC_DIR, SLICES.join(','), String(REPEATS), String(OUT)], { encoding: 'utf8' })) as Round;

const result = await runInterleaved({ ours: async () => oursRound(), scipy: peer }, { rounds: roundsFlag(), unit: 'slices' });
console.log(`augmentation of 256x256 EMIDEC slices to ${OUT}x${OUT}, ms per slice (mean of ${REPEATS}); peer = scipy.ndimage/skimage/numpy`);
printInterleaved('augmentation', result);
console.log('(ms rows: ours/scipy below 1 means ours is faster; ours include validating the slice and resampling the crop, about 3 ms; the peer crops by array slicing)');
const slicesPerSecond = 1000 / result.sides['ours']!.median['paper preset (p = 0.2 each)']!;
console.log(`paper preset throughput: ${slicesPerSecond.toFixed(0)} slices/s on one thread (a batch of 16 in ${(16 / slicesPerSecond * 1000).toFixed(0)} ms)`);
console.log(JSON.stringify({ bench: 'augment', outputSize: OUT, repeats: REPEATS, paperSlicesPerSecond: slicesPerSecond, ...interleavedJson(result) }));
