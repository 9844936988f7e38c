/**
 * FedAvg's arithmetic (McMahan et al. 2017), one implementation for the coordinator's streaming
 * aggregation and the experiments' in-process federated arm: the case-weighted mean of the sites'
 * values, summed in float64 in site order exactly as a per-coordinate loop would add them, two
 * sites per pass over the arrays (tight loops, not a call per coordinate), the last pass dividing.
 */

/**
 * out[i] = (Σ_s weights[s] · values[s][i]) / Σ_s weights[s] for i < length. `sums` (float64, at
 * least `length` long) is scratch for more than two sites. Returns 0 when every mean is finite and
 * NaN otherwise (a NaN or infinity in any input makes its mean non-finite), so callers check the
 * result once instead of every input value.
 */
export function weightedMeanInto(out: Float32Array, values: readonly Float32Array[], weights: readonly number[], length: number, sums?: Float64Array): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let site = 0;
  if (values.length > 2) {
    if (!sums || sums.length < length) sums = new Float64Array(length);
    for (; values.length - site > 2; site += 2) addPair(sums, site > 0, values[site]!, weights[site]!, values[site + 1]!, weights[site + 1]!, length);
  }
  return finishMean(out, site > 0 ? sums : undefined, values[site]!, weights[site]!, values[site + 1], weights[site + 1] ?? 0, total, length);
}

/** sums = (started ? sums : 0) + wa·a + wb·b, left to right. */
function addPair(sums: Float64Array, started: boolean, a: Float32Array, wa: number, b: Float32Array, wb: number, length: number): void {
  if (started) for (let i = 0; i < length; i++) sums[i] = sums[i]! + wa * a[i]! + wb * b[i]!;
  else for (let i = 0; i < length; i++) sums[i] = wa * a[i]! + wb * b[i]!;
}

/** out = (sums + wa·a (+ wb·b)) / total; returns the sum of mean − mean (0, or NaN if any mean is not finite). */
function finishMean(out: Float32Array, sums: Float64Array | undefined, a: Float32Array, wa: number, b: Float32Array | undefined, wb: number, total: number, length: number): number {
  let guard = 0;
  if (sums && b) {
    for (let i = 0; i < length; i++) {
      const mean = (sums[i]! + wa * a[i]! + wb * b[i]!) / total;
      guard += mean - mean;
      out[i] = mean;
    }
  } else if (sums) {
    for (let i = 0; i < length; i++) {
      const mean = (sums[i]! + wa * a[i]!) / total;
      guard += mean - mean;
      out[i] = mean;
    }
  } else if (b) {
    for (let i = 0; i < length; i++) {
      const mean = (wa * a[i]! + wb * b[i]!) / total;
      guard += mean - mean;
      out[i] = mean;
    }
  } else {
    for (let i = 0; i < length; i++) {
      const mean = (wa * a[i]!) / total;
      guard += mean - mean;
      out[i] = mean;
    }
  }
  return guard;
}
