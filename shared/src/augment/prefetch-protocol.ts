import type { BatchOptions, TrainingBatch } from './batch.js';
import type { AugmentationPreset } from './presets.js';
import type { SpacedSlice } from './sample.js';

/**
 * Messages between the prefetching provider and its worker. Samples travel once, packed into
 * shared memory, so the worker reads them without a copy per batch.
 */
export interface PackedSamples {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  /** Per sample: pixel offset, width, height, spacing x, spacing y. */
  readonly layout: Float64Array;
}

export type ToWorker =
  | { readonly type: 'init'; readonly samples: PackedSamples; readonly options: BatchOptions & { preset: AugmentationPreset }; readonly startIteration: number }
  | { readonly type: 'next' };

export type FromWorker =
  | { readonly type: 'batch'; readonly batch: TrainingBatch }
  | { readonly type: 'error'; readonly message: string };

const LAYOUT_FIELDS = 5;

export function packSamples(samples: readonly SpacedSlice[]): PackedSamples {
  const pixels = samples.reduce((total, s) => total + s.width * s.height, 0);
  const images = new Float32Array(new SharedArrayBuffer(pixels * Float32Array.BYTES_PER_ELEMENT));
  const labels = new Uint8Array(new SharedArrayBuffer(pixels));
  const layout = new Float64Array(samples.length * LAYOUT_FIELDS);
  let offset = 0;
  samples.forEach((s, i) => {
    images.set(s.image, offset);
    labels.set(s.label, offset);
    layout.set([offset, s.width, s.height, s.spacing[0], s.spacing[1]], i * LAYOUT_FIELDS);
    offset += s.width * s.height;
  });
  return { images, labels, layout };
}

export function unpackSamples(packed: PackedSamples): SpacedSlice[] {
  const samples: SpacedSlice[] = [];
  for (let i = 0; i < packed.layout.length; i += LAYOUT_FIELDS) {
    const [offset, width, height, sx, sy] = packed.layout.subarray(i, i + LAYOUT_FIELDS) as unknown as number[];
    const end = offset! + width! * height!;
    samples.push({
      image: packed.images.subarray(offset, end),
      label: packed.labels.subarray(offset, end),
      width: width!,
      height: height!,
      spacing: [sx!, sy!],
    });
  }
  return samples;
}
