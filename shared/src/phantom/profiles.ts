import type { Layout } from '../imaging/layouts.js';

export type Range = readonly [number, number];

/**
 * How a vendor's images look once reconstructed and stored: late gadolinium enhancement (healthy
 * myocardium nulled, scar bright) or cine bSSFP (bright blood, grey myocardium, scar invisible).
 */
export interface VendorAppearance {
  readonly sequence: 'lge' | 'cine';
  /** Intensity transfer curve out = contrast · s^gamma applied after the tissue model. */
  readonly gamma: number;
  readonly contrast: Range;
  /** LGE: inversion-time quality per case: 1 nulls healthy myocardium perfectly, lower leaves it grey. */
  readonly tiQuality: Range;
  /** Rician noise σ relative to blood-pool signal. */
  readonly noise: Range;
  /** Peak-to-peak amplitude of the smooth multiplicative coil bias field. */
  readonly bias: Range;
  /** Gaussian point-spread σ in mm. */
  readonly blurMm: Range;
  /** Fraction of the phase-encode field of view that is zero-filled at the edges. */
  readonly zeroFill: Range;
}

/** How a site stores its studies. */
export type Storage =
  | { readonly kind: 'int16'; readonly max: number }
  | { readonly kind: 'int16-scaled'; readonly max: number; readonly slope: number }
  | { readonly kind: 'png8' }
  | { readonly kind: 'float32' };

export interface PhantomProfile {
  readonly name: string;
  readonly description: string;
  readonly vendor: 'Siemens' | 'Philips' | 'GE';
  readonly layout: Layout;
  readonly storage: Storage;
  /** In-plane pixel spacing range (mm) and field of view (mm). */
  readonly spacing: Range;
  readonly fovMm: Range;
  /** Phase FOV as a fraction of the read FOV (rectangular matrices). */
  readonly phaseFov: Range;
  /** Slice spacing choices (mm) and stack size range. */
  readonly sliceSpacing: readonly number[];
  readonly slices: Range;
  /** Fraction of cases with an infarct, and of those with a no-reflow core. */
  readonly infarctRate: number;
  readonly noReflowRate: number;
  readonly appearance: VendorAppearance;
}

/** Four LGE sites mirroring the study's Table 1, and a cine cohort for the cine arm. */
export const PROFILES: Record<string, PhantomProfile> = {
  emidec: {
    name: 'emidec',
    description: 'EMIDEC-like: Siemens 1.5/3 T, 1.37-1.88 mm, 8-13 mm slices, 4-10 slices; EMIDEC folders, labels 0-4',
    vendor: 'Siemens',
    layout: 'emidec',
    storage: { kind: 'int16', max: 2000 },
    spacing: [1.37, 1.88],
    fovMm: [300, 380],
    phaseFov: [0.75, 1],
    sliceSpacing: [8, 10, 10, 10, 13],
    slices: [4, 10],
    infarctRate: 0.67,
    noReflowRate: 0.4,
    appearance: { sequence: 'lge', gamma: 1, contrast: [0.9, 1.1], tiQuality: [0.3, 0.65], noise: [0.015, 0.035], bias: [0.05, 0.2], blurMm: [0.9, 1.4], zeroFill: [0, 0.2] },
  },
  mscmr: {
    name: 'mscmr',
    description: 'MSCMR-like: Philips 1.5 T, 0.75 mm, 5 mm slices, 10-18 slices; subjectN_DE(_manual) NIfTI, labels 200/500/600',
    vendor: 'Philips',
    layout: 'mscmr',
    storage: { kind: 'int16-scaled', max: 4095, slope: 0.37 },
    spacing: [0.75, 0.75],
    fovMm: [330, 360],
    phaseFov: [0.9, 1],
    sliceSpacing: [5],
    slices: [10, 18],
    infarctRate: 0.6,
    noReflowRate: 0.2,
    appearance: { sequence: 'lge', gamma: 0.8, contrast: [0.8, 1.0], tiQuality: [0.6, 0.95], noise: [0.04, 0.08], bias: [0.2, 0.4], blurMm: [1.2, 1.8], zeroFill: [0, 0] },
  },
  vh: {
    name: 'vh',
    description: 'VH-like: GE 1.5 T, 1.48-1.68 mm, 10 mm slices, 8-15 slices; PNG slices + spacing.json, labels 0-4',
    vendor: 'GE',
    layout: 'png-slices',
    storage: { kind: 'png8' },
    spacing: [1.48, 1.68],
    fovMm: [360, 400],
    phaseFov: [0.8, 1],
    sliceSpacing: [10],
    slices: [8, 15],
    infarctRate: 0.7,
    noReflowRate: 0.3,
    appearance: { sequence: 'lge', gamma: 1.25, contrast: [1.0, 1.2], tiQuality: [0.55, 0.9], noise: [0.05, 0.09], bias: [0.15, 0.35], blurMm: [1.4, 2.0], zeroFill: [0, 0.05] },
  },
  stpau: {
    name: 'stpau',
    description: 'STPAU-like: Philips 1.5 T, 1.18 mm, 5 mm slices, 18-24 slices; manifest.csv of NIfTI pairs, labels 0/1/2',
    vendor: 'Philips',
    layout: 'manifest',
    storage: { kind: 'float32' },
    spacing: [1.18, 1.18],
    fovMm: [290, 320],
    phaseFov: [0.85, 1],
    sliceSpacing: [5],
    slices: [18, 24],
    infarctRate: 0.8,
    noReflowRate: 0.35,
    appearance: { sequence: 'lge', gamma: 0.9, contrast: [0.85, 1.05], tiQuality: [0.7, 1], noise: [0.03, 0.05], bias: [0.25, 0.45], blurMm: [1.0, 1.4], zeroFill: [0, 0] },
  },
  cine: {
    name: 'cine',
    description: 'Sunnybrook-like cine (bSSFP): GE 1.5 T, 1.25-1.45 mm, 10 mm slices, 6-12 slices; bright blood, grey myocardium, no scar; manifest.csv of NIfTI pairs, labels 0/1/2',
    vendor: 'GE',
    layout: 'manifest',
    storage: { kind: 'int16', max: 1500 },
    spacing: [1.25, 1.45],
    fovMm: [320, 380],
    phaseFov: [0.8, 1],
    sliceSpacing: [10],
    slices: [6, 12],
    infarctRate: 0,
    noReflowRate: 0,
    appearance: { sequence: 'cine', gamma: 1, contrast: [0.9, 1.1], tiQuality: [1, 1], noise: [0.02, 0.04], bias: [0.1, 0.3], blurMm: [1.0, 1.5], zeroFill: [0, 0.05] },
  },
};

export const PROFILE_NAMES = Object.keys(PROFILES);

/** The four LGE sites of the study's Table 1 (the demo's federation); `cine` is the cine arm's cohort. */
export const LGE_PROFILE_NAMES = PROFILE_NAMES.filter((name) => PROFILES[name]!.appearance.sequence === 'lge');
