import assert from 'node:assert/strict';
import { gaussianImportance, slidingWindowProbabilities, SlidingWindowError, windowStarts, type ProbabilityEngine } from '@lgefed/shared/model/index';

/** A per-pixel "network": class 2 where the pixel is bright, 1 where mid-grey, else 0; counts calls. */
class PointwiseEngine implements ProbabilityEngine {
  readonly name = 'pointwise';
  readonly classes = 3;
  readonly batches: number[] = [];
  async probabilities(images: Float32Array, n: number, size: number): Promise<Float32Array> {
    assert.equal(images.length, n * size * size);
    this.batches.push(n);
    const out = new Float32Array(images.length * 3);
    images.forEach((v, i) => (out[i * 3 + (v > 0.66 ? 2 : v > 0.33 ? 1 : 0)] = 0.8));
    return out;
  }
  async dispose(): Promise<void> {}
}

/** Distinct position-dependent intensities, so a misplaced or wrongly flipped window shows. */
function pattern(width: number, height: number): Float32Array {
  return Float32Array.from({ length: width * height }, (_, i) => ((i % width) * 7 + Math.floor(i / width) * 13) % 17 / 16);
}

describe('model: sliding-window inference', () => {
  it('window starts cover the axis with at least 50 % overlap, first at 0, last flush with the end', () => {
    assert.deepEqual(windowStarts(128, 128), [0]);
    assert.deepEqual(windowStarts(256, 128), [0, 64, 128]);
    for (const [length, window] of [[234, 128], [37, 16], [1000, 96]] as const) {
      const starts = windowStarts(length, window);
      assert.equal(starts[0], 0);
      assert.equal(starts.at(-1), length - window);
      for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! <= window / 2, `${length}/${window}: step ${starts[i]! - starts[i - 1]!}`);
    }
    assert.throws(() => windowStarts(10, 16), SlidingWindowError);
  });

  it('the Gaussian importance peaks in the centre, is symmetric and never 0', () => {
    const g = gaussianImportance(32);
    const at = (x: number, y: number): number => g[y * 32 + x]!;
    assert.ok(Math.abs(Math.max(...g) - at(16, 16)) < 0.05);
    assert.ok(at(0, 0) > 0 && at(0, 0) < at(8, 8));
    assert.equal(at(3, 5), at(28, 26));
  });

  it('puts every window and mirror image back where it came from: a pixel-wise network gives pixel-wise probabilities', async () => {
    for (const [width, height] of [[37, 50], [16, 16], [64, 40]] as const) {
      const image = pattern(width, height);
      const expected = image.map((v) => (v > 0.66 ? 2 : v > 0.33 ? 1 : 0));
      for (const mirror of [false, true]) {
        const engine = new PointwiseEngine();
        const [probabilities] = await slidingWindowProbabilities(engine, [{ image, width, height }], { window: 16, mirror, batchSize: 6 });
        // The engine's 0.8 for one class comes out as probability 1: weighted means, summing to 1 per pixel.
        const wrong = expected.findIndex((label, i) => [0, 1, 2].some((c) => Math.abs(probabilities![i * 3 + c]! - (c === label ? 1 : 0)) > 1e-6));
        assert.equal(wrong, -1, `${width}x${height} mirror ${mirror}: pixel ${wrong}`);
        const windows = windowStarts(width, 16).length * windowStarts(height, 16).length * (mirror ? 4 : 1);
        assert.equal(engine.batches.reduce((a, b) => a + b, 0), windows);
        assert.ok(engine.batches.every((n) => n <= 6));
      }
    }
  });

  it('batches windows across slices and gives each slice its probabilities on its own grid', async () => {
    const engine = new PointwiseEngine();
    const slices = [{ image: pattern(20, 20), width: 20, height: 20 }, { image: pattern(48, 16), width: 48, height: 16 }];
    const probabilities = await slidingWindowProbabilities(engine, slices, { window: 16, batchSize: 32 });
    assert.equal(engine.batches.length, 1);
    assert.deepEqual(probabilities.map((p) => p.length), [400 * 3, 768 * 3]);
  });

  it('rejects a wrong slice size and a bad engine reply with typed errors', async () => {
    const engine = new PointwiseEngine();
    await assert.rejects(slidingWindowProbabilities(engine, [{ image: new Float32Array(10), width: 16, height: 16 }], { window: 16 }), SlidingWindowError);
    const broken: ProbabilityEngine = { ...engine, name: 'broken', classes: 3, probabilities: async () => new Float32Array(5), dispose: async () => {} };
    await assert.rejects(slidingWindowProbabilities(broken, [{ image: new Float32Array(256), width: 16, height: 16 }], { window: 16 }), /engine returned 5 values/);
  });
});
