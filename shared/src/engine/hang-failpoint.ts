/**
 * Failpoint for tests of the stall handling: `LGEFED_FAILPOINT_ENGINE_HANG=<iteration>` makes a
 * training worker that runs wasm on several threads block before that iteration, in a futex wait
 * that never ends, as the two-thread engine hang leaves it (README, "Known issue"). Unset, it does
 * nothing.
 */
import type { EngineBackend } from './backend-selection.js';

const HANG_AT_ITERATION = process.env['LGEFED_FAILPOINT_ENGINE_HANG'] ? Number(process.env['LGEFED_FAILPOINT_ENGINE_HANG']) : undefined;

/** Blocks this thread for ever when the failpoint names `iteration` and the engine runs wasm on several threads. */
export function hangIfFailpoint(iteration: number, engine: { readonly backend: EngineBackend; readonly threads: number }): void {
  if (iteration !== HANG_AT_ITERATION || engine.backend !== 'wasm' || engine.threads < 2) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)), 0, 0);
}
