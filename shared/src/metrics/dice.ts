/** 3D Dice as in the study: 2TP / (2TP + FP + FN); 1 when both masks are empty. */
export function dice(predicted: Uint8Array, truth: Uint8Array): number {
  if (predicted.length !== truth.length) throw new RangeError(`mask lengths differ: ${predicted.length} vs ${truth.length}`);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i] !== 0;
    const t = truth[i] !== 0;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 1 : (2 * tp) / denominator;
}
