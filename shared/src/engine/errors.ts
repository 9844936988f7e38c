/** Bad engine configuration (unknown backend name, forced backend that cannot load, bad thread count). */
export class EngineError extends Error {
  override readonly name = 'EngineError';
}
