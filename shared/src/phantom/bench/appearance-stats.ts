/**
 * `npm run bench:appearance`: how close does the phantom look to
 * real LGE, in the window the model actually sees? Both the real EMIDEC slices and phantom cases go
 * through the training preprocessing (1.5 mm, 128-pixel label-centred crop, per-slice min-max), then we
 * compare per-slice statistics: blood pool / myocardium / surrounding-tissue means and their ratios,
 * how much of the window is near-black, fine texture of the background, and the intensity histogram.
 * A fast loop for tuning the phantom's appearance without training a model.
 *
 * Environment: LGEFED_STATS_PROFILE (default emidec), LGEFED_STATS_CASES (phantom cases, default 20),
 * LGEFED_STATS_REAL (real data folder), LGEFED_STATS_REAL_CASES (default 30), LGEFED_STATS_SEED (default 1).
 */
import { boxMean } from '../../imaging/box-mean.js';
import { loadDataset } from '../../imaging/dataset.js';
import { writePng } from '../../imaging/png.js';
import { preprocessCase } from '../../imaging/preprocess.js';
import { Label, type Case, type Slice } from '../../types.js';
import { generatePhantomCase } from '../generate.js';
import { PROFILES } from '../profiles.js';

const REAL_DIR = process.env.LGEFED_STATS_REAL ?? '/work/shared/data/emidec-lge-slices';
const PROFILE = process.env.LGEFED_STATS_PROFILE ?? 'emidec';
const CASES = Number(process.env.LGEFED_STATS_CASES ?? 20);
const REAL_CASES = Number(process.env.LGEFED_STATS_REAL_CASES ?? 30);
/** Only real cases whose id contains this (e.g. `_N` for the normal cases). */
const REAL_FILTER = process.env.LGEFED_STATS_REAL_FILTER ?? '';
/** Also write real (top) and phantom (bottom) windows side by side as a PNG here. */
const TILES = process.env.LGEFED_STATS_TILES;
const SEED = Number(process.env.LGEFED_STATS_SEED ?? 1);
const SIZE = 128;
const SPACING: [number, number] = [1.5, 1.5];
/** "Surrounding tissue": background within this many pixels (≈ 22 mm) of the LV. */
const NEAR_PX = 15;
const BINS = 10;

interface SliceStats {
  bloodpool: number;
  myocardium: number;
  /** Myocardium away from its borders (all 8 neighbours myocardium): the wall's own signal, not partial volume. */
  innerMyocardium: number;
  near: number;
  far: number;
  black: number;
  texture: number;
  /** Mid-scale structure: sd of (5×5 mean − 21×21 mean) on tissue away from the LV. */
  structure: number;
  histogram: number[];
}

/** Chebyshev distance (in pixels, capped) from each pixel to the nearest LV pixel, by two passes. */
function distanceToLv(label: Uint8Array, n: number): Uint16Array {
  const cap = 1000;
  const d = new Uint16Array(n * n).fill(cap);
  for (let i = 0; i < d.length; i++) if (label[i] !== Label.background) d[i] = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      if (x > 0) d[i] = Math.min(d[i]!, d[i - 1]! + 1);
      if (y > 0) d[i] = Math.min(d[i]!, d[i - n]! + 1, x > 0 ? d[i - n - 1]! + 1 : cap, x < n - 1 ? d[i - n + 1]! + 1 : cap);
    }
  }
  for (let y = n - 1; y >= 0; y--) {
    for (let x = n - 1; x >= 0; x--) {
      const i = y * n + x;
      if (x < n - 1) d[i] = Math.min(d[i]!, d[i + 1]! + 1);
      if (y < n - 1) d[i] = Math.min(d[i]!, d[i + n]! + 1, x < n - 1 ? d[i + n + 1]! + 1 : cap, x > 0 ? d[i + n - 1]! + 1 : cap);
    }
  }
  return d;
}

function sliceStats(s: Slice): SliceStats | undefined {
  const n = s.width;
  const { image, label } = s;
  const distance = distanceToLv(label, n);
  const fine = boxMean(image, n, n, 2, 2);
  const coarse = boxMean(image, n, n, 10, 10);
  const sum = { bloodpool: 0, myocardium: 0, inner: 0, near: 0, far: 0 };
  const count = { bloodpool: 0, myocardium: 0, inner: 0, near: 0, far: 0 };
  const histogram = new Array<number>(BINS).fill(0);
  let black = 0;
  let residual = 0;
  let structure = 0;
  let tissueCount = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      const v = image[i]!;
      const region = label[i] === Label.bloodpool ? 'bloodpool' : label[i] === Label.myocardium ? 'myocardium' : distance[i]! <= NEAR_PX ? 'near' : 'far';
      sum[region] += v;
      count[region]++;
      histogram[Math.min(BINS - 1, Math.floor(v * BINS))]!++;
      if (v < 0.1) black++;
      const interior = x >= 1 && y >= 1 && x < n - 1 && y < n - 1;
      if (region === 'myocardium' && interior && [-n - 1, -n, -n + 1, -1, 1, n - 1, n, n + 1].every((o) => label[i + o] === Label.myocardium)) {
        sum.inner += v;
        count.inner++;
      }
      // Texture on tissue (not padding or air) away from the LV, where a flat-shaded phantom differs most.
      if ((region === 'near' || region === 'far') && distance[i]! > 3 && v > 0.05) {
        residual += (v - fine[i]!) ** 2;
        structure += (fine[i]! - coarse[i]!) ** 2;
        tissueCount++;
      }
    }
  }
  if (count.bloodpool < 20 || count.myocardium < 20) return undefined;
  const total = n * n;
  return {
    bloodpool: sum.bloodpool / count.bloodpool,
    myocardium: sum.myocardium / count.myocardium,
    innerMyocardium: count.inner ? sum.inner / count.inner : NaN,
    near: count.near ? sum.near / count.near : NaN,
    far: count.far ? sum.far / count.far : NaN,
    black: black / total,
    texture: tissueCount ? Math.sqrt(residual / tissueCount) : NaN,
    structure: tissueCount ? Math.sqrt(structure / tissueCount) : NaN,
    histogram: histogram.map((h) => h / total),
  };
}

function collect(cases: readonly Case[]): SliceStats[] {
  const out: SliceStats[] = [];
  for (const c of cases) {
    for (const s of preprocessCase(c, { size: SIZE, targetSpacing: SPACING }).slices) {
      const st = sliceStats(s);
      if (st) out.push(st);
    }
  }
  return out;
}

const mean = (xs: number[]) => xs.filter(Number.isFinite).reduce((a, b) => a + b, 0) / Math.max(1, xs.filter(Number.isFinite).length);

function summarise(stats: SliceStats[]) {
  const m = (f: (s: SliceStats) => number) => mean(stats.map(f));
  return {
    slices: stats.length,
    bloodpool: m((s) => s.bloodpool),
    myocardium: m((s) => s.myocardium),
    innerMyocardium: m((s) => s.innerMyocardium),
    near: m((s) => s.near),
    far: m((s) => s.far),
    bpOverMyo: m((s) => s.bloodpool / s.myocardium),
    bpOverNear: m((s) => s.bloodpool / s.near),
    myoOverNear: m((s) => s.myocardium / s.near),
    black: m((s) => s.black),
    texture: m((s) => s.texture),
    structure: m((s) => s.structure),
    histogram: [...Array(BINS).keys()].map((b) => m((s) => s.histogram[b]!)),
  };
}

/** Mid-stack windows of the first 8 cases of each set: real on top, phantom below. */
async function writeTiles(path: string, realCases: readonly Case[], phantomCases: readonly Case[]): Promise<void> {
  const columns = 8;
  const pixels = new Uint8Array(columns * SIZE * 2 * SIZE);
  [realCases, phantomCases].forEach((cases, row) => {
    cases.slice(0, columns).forEach((c, column) => {
      const { slices } = preprocessCase(c, { size: SIZE, targetSpacing: SPACING });
      const s = slices[Math.floor(slices.length / 2)]!;
      for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) pixels[(row * SIZE + y) * columns * SIZE + column * SIZE + x] = Math.round(s.image[y * SIZE + x]! * 255);
    });
  });
  await writePng(path, pixels, columns * SIZE, 2 * SIZE, 1);
}

const profile = PROFILES[PROFILE];
if (!profile) throw new Error(`unknown profile ${PROFILE}`);
const realSet = await loadDataset(REAL_DIR, { layout: 'png-slices' });
const realCases = realSet.cases.filter((c) => c.id.includes(REAL_FILTER)).slice(0, REAL_CASES);
const phantomCases = [...Array(CASES).keys()].map((i) => generatePhantomCase(profile, SEED, i));
const real = summarise(collect(realCases));
const phantom = summarise(collect(phantomCases));
if (TILES) await writeTiles(TILES, realCases, phantomCases);

console.log(`window: ${SIZE} px at ${SPACING[0]} mm, label-centred, min-max normalised; real ${real.slices} slices${REAL_FILTER ? ` (ids with ${REAL_FILTER})` : ''}, phantom (${PROFILE}, seed ${SEED}) ${phantom.slices} slices`);
console.log('| statistic | real EMIDEC | phantom | phantom / real |');
console.log('|---|---|---|---|');
const rows: [string, number, number][] = [
  ['blood pool mean', real.bloodpool, phantom.bloodpool],
  ['myocardium mean', real.myocardium, phantom.myocardium],
  ['inner myocardium mean', real.innerMyocardium, phantom.innerMyocardium],
  ['surrounding (≤22 mm) mean', real.near, phantom.near],
  ['rest of window mean', real.far, phantom.far],
  ['blood pool / myocardium', real.bpOverMyo, phantom.bpOverMyo],
  ['blood pool / inner myocardium', real.bloodpool / real.innerMyocardium, phantom.bloodpool / phantom.innerMyocardium],
  ['blood pool / surrounding', real.bpOverNear, phantom.bpOverNear],
  ['myocardium / surrounding', real.myoOverNear, phantom.myoOverNear],
  ['fraction < 0.1 (black)', real.black, phantom.black],
  ['fine texture (5×5 residual sd)', real.texture, phantom.texture],
  ['mid-scale structure (5×5 − 21×21 sd)', real.structure, phantom.structure],
];
for (const [name, r, p] of rows) console.log(`| ${name} | ${r.toFixed(3)} | ${p.toFixed(3)} | ${(p / r).toFixed(2)} |`);
console.log('\nhistogram of the window (fraction per tenth of [0, 1]):');
console.log(`| bin | ${[...Array(BINS).keys()].map((b) => `${b / BINS}`).join(' | ')} |`);
console.log(`|---|${'---|'.repeat(BINS)}`);
console.log(`| real | ${real.histogram.map((h) => h.toFixed(3)).join(' | ')} |`);
console.log(`| phantom | ${phantom.histogram.map((h) => h.toFixed(3)).join(' | ')} |`);
const histogramDistance = real.histogram.reduce((s, h, b) => s + Math.abs(h - phantom.histogram[b]!), 0) / 2;
console.log(
  JSON.stringify({
    profile: PROFILE,
    real_slices: real.slices,
    phantom_slices: phantom.slices,
    real_bp_over_myo: +real.bpOverMyo.toFixed(3),
    phantom_bp_over_myo: +phantom.bpOverMyo.toFixed(3),
    real_bp_over_surrounding: +real.bpOverNear.toFixed(3),
    phantom_bp_over_surrounding: +phantom.bpOverNear.toFixed(3),
    real_black_fraction: +real.black.toFixed(3),
    phantom_black_fraction: +phantom.black.toFixed(3),
    real_texture: +real.texture.toFixed(4),
    phantom_texture: +phantom.texture.toFixed(4),
    real_structure: +real.structure.toFixed(4),
    phantom_structure: +phantom.structure.toFixed(4),
    histogram_total_variation: +histogramDistance.toFixed(3),
  }),
);
