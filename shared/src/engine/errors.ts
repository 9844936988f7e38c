/** Bad engine configuration (unknown backend name, forced backend that cannot load, bad thread count). */
export class EngineError extends Error {
  override readonly name: string = 'EngineError';
}

/** The wasm engine's 4 GB heap is (nearly) full: the work needs a smaller size, batch or another engine. */
export class EngineMemoryError extends EngineError {
  override readonly name = 'EngineMemoryError';
}
