import type { Random } from './random.js';
import type { VendorAppearance } from './profiles.js';
import { Tissue, TISSUE_COUNT } from './anatomy.js';

/** Per-case acquisition: drawn once so every slice of a study shares contrast, TI and coil. */
export interface Acquisition {
  readonly intensity: Float32Array;
  readonly contrast: number;
  readonly gamma: number;
  readonly noise: number;
  readonly bias: readonly [number, number, number];
  readonly blurMm: number;
  readonly zeroFill: number;
  /** Zero-filled fraction of the read direction (exports padded to a square matrix). */
  readonly zeroFillRead: number;
  /** Amplitude of the multi-scale texture that modulates tissue (organs, vessels, bowel; faintly the heart). */
  readonly texture: number;
}

export function sampleAcquisition(rng: Random, look: VendorAppearance): Acquisition {
  const intensity = look.sequence === 'cine' ? cineIntensities(rng) : lgeIntensities(rng, look);
  return {
    intensity,
    contrast: rng.uniform(...look.contrast),
    gamma: look.gamma,
    noise: rng.uniform(...look.noise),
    bias: [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(...look.bias)],
    blurMm: rng.uniform(...look.blurMm),
    zeroFill: rng.uniform(...look.zeroFill),
    zeroFillRead: rng.uniform(...look.zeroFill),
    texture: rng.uniform(0.2, 0.45),
  };
}

function lgeIntensities(rng: Random, look: VendorAppearance): Float32Array {
  const ti = rng.uniform(...look.tiQuality);
  const jitter = (v: number) => v * rng.uniform(0.88, 1.12);
  const intensity = new Float32Array(TISSUE_COUNT);
  const blood = jitter(0.62 - (1 - ti) * 0.1);
  // Inversion recovery magnitude: healthy myocardium is darkest when TI is right, grey when it is not.
  // Even at a good TI, real exports keep it a dark grey rather than black (EMIDEC: blood/myocardium ≈ 1.3).
  const myocardium = blood * (0.25 + 0.9 * (1 - ti));
  // Everything else relative to blood, as on real LGE: after a non-selective inversion the chest is
  // mid-grey with bright fat, and even lung is dark grey rather than black.
  const relative = (lo: number, hi: number) => blood * rng.uniform(lo, hi);
  const fat = relative(1.3, 1.6);
  intensity[Tissue.air] = 0;
  intensity[Tissue.softTissue] = relative(0.85, 1.1);
  intensity[Tissue.subcutaneousFat] = fat;
  intensity[Tissue.epicardialFat] = fat * rng.uniform(0.9, 1.05);
  intensity[Tissue.fatPad] = fat * rng.uniform(0.9, 1.05);
  intensity[Tissue.muscle] = relative(0.55, 0.8);
  intensity[Tissue.lung] = relative(0.35, 0.55);
  intensity[Tissue.pulmonaryVessel] = relative(0.8, 1.0);
  intensity[Tissue.liver] = relative(0.75, 1.0);
  intensity[Tissue.bowel] = relative(0.6, 1.1);
  intensity[Tissue.bowelGas] = relative(0.05, 0.25);
  intensity[Tissue.vessel] = relative(0.9, 1.05);
  intensity[Tissue.spine] = relative(0.4, 0.7);
  intensity[Tissue.rvWall] = myocardium * 1.1;
  intensity[Tissue.rvBlood] = relative(0.85, 1.0);
  intensity[Tissue.lvMyocardium] = myocardium;
  intensity[Tissue.papillary] = myocardium * rng.uniform(1, 1.1);
  intensity[Tissue.trabeculae] = myocardium * rng.uniform(1, 1.15);
  intensity[Tissue.lvBlood] = blood;
  intensity[Tissue.scar] = Math.min(1, relative(1.15, 1.45));
  intensity[Tissue.noReflow] = relative(0.08, 0.2);
  return intensity;
}

/**
 * Cine bSSFP: contrast follows T2/T1, so flowing blood and fat are bright, myocardium and skeletal
 * muscle dark grey (blood/myocardium ≈ 3, as on Sunnybrook), lung nearly black, and infarcts look
 * like the rest of the myocardium.
 */
function cineIntensities(rng: Random): Float32Array {
  const intensity = new Float32Array(TISSUE_COUNT);
  const blood = rng.uniform(0.62, 0.72);
  const relative = (lo: number, hi: number) => blood * rng.uniform(lo, hi);
  const myocardium = relative(0.25, 0.4);
  const fat = relative(0.8, 1.05);
  intensity[Tissue.air] = 0;
  intensity[Tissue.softTissue] = relative(0.35, 0.55);
  intensity[Tissue.subcutaneousFat] = fat;
  intensity[Tissue.epicardialFat] = fat * rng.uniform(0.9, 1.05);
  intensity[Tissue.fatPad] = fat * rng.uniform(0.9, 1.05);
  intensity[Tissue.muscle] = relative(0.2, 0.3);
  intensity[Tissue.lung] = relative(0.03, 0.1);
  intensity[Tissue.pulmonaryVessel] = relative(0.6, 0.9);
  intensity[Tissue.liver] = relative(0.3, 0.45);
  intensity[Tissue.bowel] = relative(0.3, 0.8);
  intensity[Tissue.bowelGas] = relative(0.02, 0.1);
  intensity[Tissue.vessel] = relative(0.8, 1.05);
  intensity[Tissue.spine] = relative(0.25, 0.4);
  intensity[Tissue.rvWall] = myocardium * 1.05;
  intensity[Tissue.rvBlood] = relative(0.9, 1.05);
  intensity[Tissue.lvMyocardium] = myocardium;
  intensity[Tissue.papillary] = myocardium * rng.uniform(1, 1.1);
  intensity[Tissue.trabeculae] = myocardium * rng.uniform(1, 1.15);
  intensity[Tissue.lvBlood] = blood;
  intensity[Tissue.scar] = myocardium;
  intensity[Tissue.noReflow] = myocardium;
  return intensity;
}

function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp((-0.5 * i * i) / (sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/** 1D convolution of `length` samples read at `src[offset + i·stride]`, edges clamped via a padded copy. */
function convolveLine(src: Float32Array, dst: Float32Array, offset: number, stride: number, length: number, kernel: Float32Array, pad: Float32Array): void {
  const r = (kernel.length - 1) / 2;
  for (let i = 0; i < length + 2 * r; i++) pad[i] = src[offset + Math.min(length - 1, Math.max(0, i - r)) * stride]!;
  for (let i = 0; i < length; i++) {
    let s = 0;
    for (let k = 0; k < kernel.length; k++) s += kernel[k]! * pad[i + k]!;
    dst[offset + i * stride] = s;
  }
}

/** Separable Gaussian blur with edge clamping, in place. */
function blur(img: Float32Array, w: number, h: number, sigmaX: number, sigmaY: number): void {
  const tmp = new Float32Array(img.length);
  const kx = gaussianKernel(sigmaX);
  const ky = gaussianKernel(sigmaY);
  const pad = new Float32Array(Math.max(w + kx.length, h + ky.length));
  for (let y = 0; y < h; y++) convolveLine(img, tmp, y * w, 1, w, kx, pad);
  for (let x = 0; x < w; x++) convolveLine(tmp, img, x, w, h, ky, pad);
}

/** Tissues of the heart get a faint texture (flow, partial volume); their contrast is what the model must learn. */
const HEART = new Set<number>([Tissue.lvBlood, Tissue.lvMyocardium, Tissue.papillary, Tissue.trabeculae, Tissue.scar, Tissue.noReflow]);
const HEART_TEXTURE = 0.25;
/** Octaves of the texture field: cell size (mm) and weight; large organ-scale shading down to fine grain. */
const OCTAVES: readonly (readonly [number, number])[] = [
  [48, 0.45],
  [20, 0.3],
  [8, 0.17],
  [3.5, 0.08],
];

/** Smooth random field in about [-1, 1]: bilinear value noise summed over OCTAVES. */
function textureField(w: number, h: number, pixel: readonly [number, number], rng: Random): Float32Array {
  const field = new Float32Array(w * h);
  for (const [cellMm, weight] of OCTAVES) {
    const gx = Math.ceil((w * pixel[0]) / cellMm) + 2;
    const gy = Math.ceil((h * pixel[1]) / cellMm) + 2;
    const grid = new Float32Array(gx * gy);
    for (let i = 0; i < grid.length; i++) grid[i] = rng.uniform(-1, 1);
    const cellsPerPixelX = pixel[0] / cellMm;
    const cellsPerPixelY = pixel[1] / cellMm;
    for (let y = 0; y < h; y++) {
      const fy = y * cellsPerPixelY;
      const y0 = Math.floor(fy);
      const ty = fy - y0;
      for (let x = 0; x < w; x++) {
        const fx = x * cellsPerPixelX;
        const x0 = Math.floor(fx);
        const tx = fx - x0;
        const a = grid[y0 * gx + x0]! + (grid[y0 * gx + x0 + 1]! - grid[y0 * gx + x0]!) * tx;
        const b = grid[(y0 + 1) * gx + x0]! + (grid[(y0 + 1) * gx + x0 + 1]! - grid[(y0 + 1) * gx + x0]!) * tx;
        field[y * w + x] = field[y * w + x]! + weight * (a + (b - a) * ty);
      }
    }
  }
  return field;
}

/**
 * Multiplies tissue by 1 + amplitude·f, f a multi-scale smooth random field: real chests are full of
 * structure (vessels, bowel, liver texture, fat strands) that a flat-shaded phantom lacks, and a model
 * must learn to ignore it. The heart gets a quarter of the amplitude, air none.
 */
function applyTexture(img: Float32Array, tissues: Uint8Array, w: number, h: number, pixel: readonly [number, number], amplitude: number, rng: Random): void {
  const field = textureField(w, h, pixel, rng);
  for (let i = 0; i < img.length; i++) {
    const tissue = tissues[i]!;
    if (tissue === Tissue.air) continue;
    img[i] = img[i]! * (1 + (HEART.has(tissue) ? HEART_TEXTURE * amplitude : amplitude) * field[i]!);
  }
}

/**
 * Turns a tissue map into the vendor's image: tissue signal → point-spread blur → coil bias field →
 * transfer curve → Rician noise (magnitude images) → zero-filled phase-encode edges.
 */
export function renderImage(tissues: Uint8Array, w: number, h: number, pixel: readonly [number, number], acq: Acquisition, rng: Random): Float32Array {
  const img = new Float32Array(w * h);
  for (let i = 0; i < img.length; i++) img[i] = acq.intensity[tissues[i]!]!;
  applyTexture(img, tissues, w, h, pixel, acq.texture, rng);
  blur(img, w, h, acq.blurMm / pixel[0], acq.blurMm / pixel[1]);
  const [bx, by, amp] = acq.bias;
  const norm = Math.hypot(bx, by) || 1;
  for (let y = 0; y < h; y++) {
    const ny = (2 * y) / h - 1;
    for (let x = 0; x < w; x++) {
      const nx = (2 * x) / w - 1;
      // Surface-coil falloff: a linear ramp plus a radial term, peak-to-peak about `amp`.
      const field = 1 + 0.5 * amp * ((bx * nx + by * ny) / norm - 0.5 * (nx * nx + ny * ny));
      const signal = Math.max(0, img[y * w + x]! * field);
      const s = acq.contrast * (acq.gamma === 1 ? signal : Math.pow(signal, acq.gamma));
      const re = s + acq.noise * rng.gaussian();
      const im = acq.noise * rng.gaussian();
      img[y * w + x] = Math.sqrt(re * re + im * im);
    }
  }
  const cut = Math.round((acq.zeroFill * h) / 2);
  if (cut > 0) {
    img.fill(0, 0, cut * w);
    img.fill(0, (h - cut) * w);
  }
  const cutRead = Math.round((acq.zeroFillRead * w) / 2);
  for (let y = 0; cutRead > 0 && y < h; y++) {
    img.fill(0, y * w, y * w + cutRead);
    img.fill(0, (y + 1) * w - cutRead, (y + 1) * w);
  }
  return img;
}
