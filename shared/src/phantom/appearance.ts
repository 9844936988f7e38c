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
}

export function sampleAcquisition(rng: Random, look: VendorAppearance): Acquisition {
  const ti = rng.uniform(...look.tiQuality);
  const jitter = (v: number) => v * rng.uniform(0.88, 1.12);
  const intensity = new Float32Array(TISSUE_COUNT);
  const blood = jitter(0.62 - (1 - ti) * 0.1);
  // Inversion recovery magnitude: healthy myocardium is nulled when TI is right, grey when it is not.
  const myocardium = 0.03 + (1 - ti) * 0.32;
  intensity[Tissue.air] = 0;
  intensity[Tissue.softTissue] = jitter(0.2);
  intensity[Tissue.subcutaneousFat] = jitter(0.72);
  intensity[Tissue.muscle] = jitter(0.14);
  intensity[Tissue.lung] = jitter(0.03);
  intensity[Tissue.liver] = jitter(0.28);
  intensity[Tissue.vessel] = blood * rng.uniform(0.9, 1.05);
  intensity[Tissue.spine] = jitter(0.12);
  intensity[Tissue.epicardialFat] = jitter(0.66);
  intensity[Tissue.rvWall] = myocardium * 1.2;
  intensity[Tissue.rvBlood] = blood * rng.uniform(0.85, 1.0);
  intensity[Tissue.lvMyocardium] = myocardium;
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

/**
 * Turns a tissue map into the vendor's image: tissue signal → point-spread blur → coil bias field →
 * transfer curve → Rician noise (magnitude images) → zero-filled phase-encode edges.
 */
export function renderImage(tissues: Uint8Array, w: number, h: number, pixel: readonly [number, number], acq: Acquisition, rng: Random): Float32Array {
  const img = new Float32Array(w * h);
  for (let i = 0; i < img.length; i++) img[i] = acq.intensity[tissues[i]!]!;
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
  return img;
}
