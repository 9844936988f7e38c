/** Per case and per structure scores of a predicted label volume against the truth. */
import { STRUCTURES, type LabelVolume, type Structure } from '../types.js';
import { dice } from './dice.js';
import { hausdorff95 } from './hausdorff.js';
import { checkSameGrid, maskOf, volumeMl } from './volumes.js';

export interface StructureScores {
  /** 2TP/(2TP+FP+FN); 1 when both are empty. */
  readonly dice: number;
  /** 95th-percentile surface distance in mm; 0 when both are empty, null when exactly one is. */
  readonly hd95Mm: number | null;
  readonly predictedMl: number;
  readonly trueMl: number;
}

export type CaseScores = Record<Structure, StructureScores>;

/** Scores each structure (label i+1 for STRUCTURES[i]) on the shared grid. */
export function evaluateCase(predicted: LabelVolume, truth: LabelVolume): CaseScores {
  checkSameGrid(predicted, truth);
  const entries = STRUCTURES.map((structure, index): [Structure, StructureScores] => {
    const label = index + 1;
    const p = maskOf(predicted, label);
    const t = maskOf(truth, label);
    const hd95 = hausdorff95(p, t, truth.dims, truth.spacing);
    return [
      structure,
      {
        dice: dice(p, t),
        hd95Mm: Number.isFinite(hd95) ? hd95 : null,
        predictedMl: volumeMl(p, truth.spacing),
        trueMl: volumeMl(t, truth.spacing),
      },
    ];
  });
  return Object.fromEntries(entries) as CaseScores;
}
