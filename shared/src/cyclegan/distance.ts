/**
 * How far translated site images are from the reference look: the Wasserstein-1 distance between
 * their intensity histograms (each image percentile-normalised, signal pixels only), as the
 * harmonisation check measures sites. Padding stays padding: pixels that are 0 in the source are 0
 * in the translation too, so the generator's output in the zero border does not count as signal.
 */
import { wasserstein1 } from '../harmonise/distances.js';
import type { IntensityHistogram } from '../harmonise/histogram.js';
import { normalisedHistogram } from '../harmonise/profile.js';
import type { GreyImage } from './patches.js';

/** Histogram bins of the distance (the harmonisation check's default). */
export const DISTANCE_BINS = 64;

export function intensityHistogram(images: readonly Float32Array[]): IntensityHistogram {
  return normalisedHistogram(images, DISTANCE_BINS);
}

/** W1 from `translated` (one per source image) to the reference histogram. */
export function translationDistance(sources: readonly GreyImage[], translated: readonly Float32Array[], reference: IntensityHistogram): number {
  const masked = translated.map((image, i) => {
    const source = sources[i]!.image;
    const out = image.slice();
    for (let k = 0; k < out.length; k++) if (source[k] === 0) out[k] = 0;
    return out;
  });
  return wasserstein1(intensityHistogram(masked), reference);
}
