/**
 * CycleGAN's history of generated images (Shrivastava et al. 2017, as Zhu et al. 2017 use it): the
 * discriminator is shown, for each image of a batch, either the image just generated or, with
 * probability one half once the pool is full, one generated earlier (which the new one replaces),
 * so it does not chase the generator's latest output alone. Seeded.
 */
import { SeededRandom } from '../model/random.js';

export class ImagePool {
  private readonly images: Float32Array[] = [];
  private readonly random: SeededRandom;

  constructor(
    readonly capacity: number,
    seed: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`image pool capacity must be a non-negative integer, got ${capacity}`);
    this.random = new SeededRandom(seed);
  }

  /** Returns the batch the discriminator sees: `batch` holds `count` images of `size` floats each. */
  query(batch: Float32Array, count: number): Float32Array {
    if (this.capacity === 0) return batch;
    const size = batch.length / count;
    const out = new Float32Array(batch.length);
    for (let i = 0; i < count; i++) {
      const image = batch.slice(i * size, (i + 1) * size);
      if (this.images.length < this.capacity) {
        this.images.push(image);
        out.set(image, i * size);
      } else if (this.random.next() < 0.5) {
        const slot = Math.floor(this.random.next() * this.capacity);
        out.set(this.images[slot]!, i * size);
        this.images[slot] = image;
      } else {
        out.set(image, i * size);
      }
    }
    return out;
  }
}
