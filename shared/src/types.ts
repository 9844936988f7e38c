/**
 * Data shapes every part of lgefed agrees on. Voxel order is x fastest, then y, then z
 * (NIfTI order); a 2D slice is row-major with x fastest (index = y * width + x).
 */

/** Our label convention, whatever a site's files use. */
export const Label = { background: 0, bloodpool: 1, myocardium: 2 } as const;
export type LabelValue = (typeof Label)[keyof typeof Label];
/** The foreground structures we segment and score, in label order 1..n. */
export const STRUCTURES = ['bloodpool', 'myocardium'] as const;
export type Structure = (typeof STRUCTURES)[number];

/** Millimetres between voxel centres along x, y, z. */
export type Spacing = readonly [number, number, number];
export type Dims = readonly [number, number, number];

export interface ImageVolume {
  readonly data: Float32Array;
  readonly dims: Dims;
  readonly spacing: Spacing;
}

export interface LabelVolume {
  readonly data: Uint8Array;
  readonly dims: Dims;
  readonly spacing: Spacing;
}

/** One patient study at a site: an LGE short-axis stack (base to apex) and, when annotated, its labels. */
export interface Case {
  readonly id: string;
  readonly image: ImageVolume;
  readonly label?: LabelVolume;
  /** File(s) it came from, for error messages and audit. */
  readonly source: string;
}

/** A 2D training sample: an image slice and its label slice, same width and height. */
export interface Slice {
  readonly image: Float32Array;
  readonly label: Uint8Array;
  readonly width: number;
  readonly height: number;
}
