/**
 * Harmonisation as an image transform for evaluation and prediction. The reference cohort is
 * given only as an intensity profile (histogram + quantiles), never as images; the shipped model
 * carries the profile of its training cohort next to its weights.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildReferenceProfile, harmoniseImage, type HarmonisationMethod, type ReferenceIntensityProfile } from '../harmonise/profile.js';
import type { Case } from '../types.js';
import { WorkflowError } from './errors.js';
import type { ImageTransform } from './evaluate.js';

export const REFERENCE_PROFILE_FILE = 'reference-intensity.json';

/** Profile of a cohort's images (whole volumes), for shipping next to a model trained on them. */
export function cohortProfile(cases: readonly Case[]): ReferenceIntensityProfile {
  if (cases.length === 0) throw new WorkflowError('no cases to profile');
  return buildReferenceProfile(cases.map((c) => c.image.data));
}

export async function writeReferenceProfile(modelDirectory: string, profile: ReferenceIntensityProfile): Promise<void> {
  await writeFile(join(modelDirectory, REFERENCE_PROFILE_FILE), `${JSON.stringify(profile)}\n`);
}

/** Reads a profile file (or a model directory's shipped one). */
export async function readReferenceProfile(file: string): Promise<ReferenceIntensityProfile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new WorkflowError(`cannot read the reference intensity profile ${file}: ${(error as Error).message}`);
  }
  const p = parsed as Partial<ReferenceIntensityProfile>;
  if (!p.histogram || !p.quantiles || !p.normalisation) throw new WorkflowError(`${file} is not a reference intensity profile (histogram, quantiles, normalisation)`);
  return p as ReferenceIntensityProfile;
}

/** The transform for histogram matching or Nyúl standardisation against `reference`. */
export function intensityHarmonisation(method: HarmonisationMethod, reference: ReferenceIntensityProfile): ImageTransform {
  return (image) => ({ ...image, data: harmoniseImage(image.data, reference, method) });
}
