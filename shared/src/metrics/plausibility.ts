/**
 * A sanity check on a predicted segmentation that needs no ground truth: an adult LV cavity holds
 * roughly 20-500 ml (end-systole of a small heart to end-diastole of a dilated one). Outside that,
 * or empty, the model has most likely missed the heart or segmented something else, and a person
 * should look before the result is used.
 */
import { Label, type LabelVolume } from '../types.js';
import { maskOf, volumeMl } from './volumes.js';

export const PLAUSIBLE_BLOOD_POOL_ML: readonly [number, number] = [20, 500];

/** A warning naming the predicted blood-pool volume when it is implausible, else undefined. */
export function implausibleVolumeWarning(label: LabelVolume): string | undefined {
  const ml = volumeMl(maskOf(label, Label.bloodpool), label.spacing);
  const [lo, hi] = PLAUSIBLE_BLOOD_POOL_ML;
  if (ml === 0) return 'no LV blood pool was found: the model most likely missed the heart; check the image and its orientation';
  if (ml < lo || ml > hi) return `the predicted LV blood pool is ${ml.toFixed(1)} ml, outside the plausible ${lo}-${hi} ml: check the segmentation and the image's voxel spacing`;
  return undefined;
}
