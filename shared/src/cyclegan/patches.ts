/** Grey images as CycleGAN input, and seeded random square patches drawn from them. */
import { SeededRandom } from '../model/random.js';
import { CycleGanError } from './errors.js';

/** A single-channel image, row-major, intensities in [0, 1] (a preprocessed Slice fits). */
export interface GreyImage {
  readonly image: Float32Array;
  readonly width: number;
  readonly height: number;
}

export function validateGreyImages(images: readonly GreyImage[], what: string, minSide = 1): void {
  if (images.length === 0) throw new CycleGanError(`${what}: no images`);
  images.forEach(({ image, width, height }, i) => {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < minSide || height < minSide) {
      throw new CycleGanError(`${what} image ${i} is ${width}x${height}; needs integer sides of at least ${minSide}`);
    }
    if (image.length !== width * height) throw new CycleGanError(`${what} image ${i} has ${image.length} values, expected ${width}x${height}`);
    for (let k = 0; k < image.length; k++) {
      const v = image[k]!;
      if (!(v >= 0 && v <= 1)) throw new CycleGanError(`${what} image ${i}: intensity ${v} at pixel ${k} is outside [0, 1]; normalise first`);
    }
  });
}

/** Draws `count` patches of `size`² at uniform random images and positions: [count, size, size] stacked. */
export class PatchSampler {
  private readonly random: SeededRandom;

  constructor(
    private readonly images: readonly GreyImage[],
    private readonly size: number,
    seed: number,
  ) {
    validateGreyImages(images, 'patch source', size);
    this.random = new SeededRandom(seed);
  }

  sample(count: number): Float32Array {
    const { size } = this;
    const out = new Float32Array(count * size * size);
    for (let n = 0; n < count; n++) {
      const { image, width, height } = this.images[Math.floor(this.random.next() * this.images.length)]!;
      const x0 = Math.floor(this.random.next() * (width - size + 1));
      const y0 = Math.floor(this.random.next() * (height - size + 1));
      for (let y = 0; y < size; y++) out.set(image.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + size), (n * size + y) * size);
    }
    return out;
  }
}
