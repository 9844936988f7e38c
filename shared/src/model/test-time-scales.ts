/**
 * Test-time passes a scoring may ask for, and the bounds of scale averaging (PredictOptions.scales):
 * the coordinator's job schemas and the site agent use them without loading the network code.
 */

/** Mirroring (4 passes) and scale averaging (one pass per factor of the working spacing; absent: [1]). */
export interface TestTimePasses {
  readonly mirror: boolean;
  readonly scales?: readonly number[];
}

/** The most working spacings one prediction takes (each is a whole inference pass). */
export const MAX_SCALES = 8;
/** Factors of the working spacing a scale may take: a quarter to four times it. */
export const SCALE_RANGE: readonly [number, number] = [0.25, 4];

/** Why `scales` cannot be used (1 to MAX_SCALES finite factors within SCALE_RANGE), or null when it can. */
export function scalesProblem(scales: readonly number[]): string | null {
  const [low, high] = SCALE_RANGE;
  if (scales.length >= 1 && scales.length <= MAX_SCALES && scales.every((f) => Number.isFinite(f) && f >= low && f <= high)) return null;
  return `scales must be 1 to ${MAX_SCALES} factors from ${low} to ${high}, got [${scales.join(', ')}]`;
}
