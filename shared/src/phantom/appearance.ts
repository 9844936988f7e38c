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
  /** Amplitude of the smooth texture that modulates tissue outside the heart (organs, vessels, bowel). */
  readonly texture: number;
}

export function sampleAcquisition(rng: Random, look: VendorAppearance): Acquisition {
  const ti = rng.uniform(...look.tiQuality);
  const jitter = (v: number) => v * rng.uniform(0.88, 1.12);
  const intensity = new Float32Array(TISSUE_COUNT);
  const blood = jitter(0.62 - (1 - ti) * 0.1);
  // Inversion recovery magnitude: healthy myocardium is nulled when TI is right, grey when it is not.
  const myocardium = 0.04 + (1 - ti) * 0.45;
  // Surrounding tissue is mid-grey on real LGE (magnitude images after a non-selective inversion), not black.
  intensity[Tissue.air] = 0;
  intensity[Tissue.softTissue] = rng.uniform(0.28, 0.5);
  intensity[Tissue.subcutaneousFat] = jitter(0.75);
  intensity[Tissue.muscle] = rng.uniform(0.2, 0.4);
  intensity[Tissue.lung] = rng.uniform(0.08, 0.25);
  intensity[Tissue.liver] = rng.uniform(0.3, 0.55);
  intensity[Tissue.vessel] = blood * rng.uniform(0.9, 1.05);
  intensity[Tissue.spine] = rng.uniform(0.15, 0.35);
  intensity[Tissue.epicardialFat] = jitter(0.68);
  intensity[Tissue.rvWall] = myocardium * 1.2;
  intensity[Tissue.rvBlood] = blood * rng.uniform(0.85, 1.0);
  intensity[Tissue.lvMyocardium] = myocardium;
  intensity[Tissue.papillary] = myocardium * rng.uniform(1, 1.3);
  intensity[Tissue.lvBlood] = blood;
  intensity[Tissue.scar] = Math.min(1, blood * rng.uniform(1.15, 1.45));
  intensity[Tissue.noReflow] = jitter(0.05);
  return {
    intensity,
    contrast: rng.uniform(...look.contrast),
    gamma: look.gamma,
    noise: rng.uniform(...look.noise),
    bias: [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(...look.bias)],
    blurMm: rng.uniform(...look.blurMm),
    zeroFill: rng.uniform(...look.zeroFill),
    zeroFillRead: rng.uniform(...look.zeroFill),
    texture: rng.uniform(0.15, 0.4),
  };
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

/** Tissues the texture leaves alone: the heart, whose contrast is what the model must learn. */
const UNTEXTURED = new Set<number>([Tissue.air, Tissue.lvBlood, Tissue.lvMyocardium, Tissue.papillary, Tissue.scar, Tissue.noReflow]);
const TEXTURE_CELL_MM = 14;

/**
 * Multiplies tissue outside the heart by 1 + amplitude·f, f a smooth random field (bilinear over a
 * 14 mm grid of uniform values in [-1, 1]): real chests are full of structure (vessels, bowel, liver
 * texture) that a flat-shaded phantom lacks, and a model must learn to ignore it.
 */
function applyTexture(img: Float32Array, tissues: Uint8Array, w: number, h: number, pixel: readonly [number, number], amplitude: number, rng: Random): void {
  const gx = Math.ceil((w * pixel[0]) / TEXTURE_CELL_MM) + 2;
  const gy = Math.ceil((h * pixel[1]) / TEXTURE_CELL_MM) + 2;
  const grid = new Float32Array(gx * gy);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.uniform(-1, 1);
  const cellsPerPixelX = pixel[0] / TEXTURE_CELL_MM;
  const cellsPerPixelY = pixel[1] / TEXTURE_CELL_MM;
  for (let y = 0; y < h; y++) {
    const fy = y * cellsPerPixelY;
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (UNTEXTURED.has(tissues[i]!)) continue;
      const fx = x * cellsPerPixelX;
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      const a = grid[y0 * gx + x0]! + (grid[y0 * gx + x0 + 1]! - grid[y0 * gx + x0]!) * tx;
      const b = grid[(y0 + 1) * gx + x0]! + (grid[(y0 + 1) * gx + x0 + 1]! - grid[(y0 + 1) * gx + x0]!) * tx;
      img[i] = img[i]! * (1 + amplitude * (a + (b - a) * ty));
    }
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
