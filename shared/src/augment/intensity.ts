import type { Prng } from './prng.js';
import { INTENSITY_MAX, INTENSITY_MIN } from './sample.js';

/** Point-wise intensity operators, in place on [0, 1] images; results are clipped back to [0, 1]. */

function clip(v: number): number {
  return v < INTENSITY_MIN ? INTENSITY_MIN : v > INTENSITY_MAX ? INTENSITY_MAX : v;
}

export function addGaussianNoise(image: Float32Array, sigma: number, prng: Prng): void {
  for (let i = 0; i < image.length; i++) image[i] = clip(image[i]! + sigma * prng.gaussian());
}

/** x^gamma, or with `inverted` 1 - (1 - x)^gamma (acts on the bright end instead of the dark one). */
export function applyGamma(image: Float32Array, gamma: number, inverted: boolean): void {
  for (let i = 0; i < image.length; i++) {
    const v = image[i]!;
    image[i] = clip(inverted ? 1 - Math.pow(1 - v, gamma) : Math.pow(v, gamma));
  }
}

export function shiftBrightness(image: Float32Array, shift: number): void {
  for (let i = 0; i < image.length; i++) image[i] = clip(image[i]! + shift);
}

export function scaleBrightness(image: Float32Array, factor: number): void {
  for (let i = 0; i < image.length; i++) image[i] = clip(image[i]! * factor);
}

/** Stretches (change > 0) or flattens (change < 0) intensities about the image mean. */
export function adjustContrast(image: Float32Array, change: number): void {
  let sum = 0;
  for (let i = 0; i < image.length; i++) sum += image[i]!;
  const mean = sum / image.length;
  const factor = 1 + change;
  for (let i = 0; i < image.length; i++) image[i] = clip(mean + (image[i]! - mean) * factor);
}
