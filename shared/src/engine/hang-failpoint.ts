/**
 * Failpoint for tests of the stall handling: `LGEFED_FAILPOINT_ENGINE_HANG=<iteration>` makes a
 * training worker that runs wasm on several threads block before that iteration, and
 * `LGEFED_FAILPOINT_ENGINE_HANG=start` as soon as its engine has started (before it says which), in
 * a futex wait that never ends, as the two-thread engine hang leaves it (README, "Known issue").
 * Unset, it does nothing.
 */
import type { EngineBackend } from './backend-selection.js';

const HANG_AT = process.env['LGEFED_FAILPOINT_ENGINE_HANG'];

/** Blocks this thread for ever when the failpoint names `at` and the engine runs wasm on several threads. */
export function hangIfFailpoint(at: number | 'start', engine: { readonly backend: EngineBackend; readonly threads: number }): void {
  if (HANG_AT === undefined || HANG_AT !== String(at) || engine.backend !== 'wasm' || engine.threads < 2) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)), 0, 0);
}
