export { initEngine, parseBackendRequest, ENGINE_BACKENDS, type EngineBackend, type BackendRequest, type EngineInfo, type EngineOptions } from './backend-selection.js';
export { EngineError } from './errors.js';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './kernels/index.js';
export { MAX_WASM_THREADS } from './wasm-threaded.js';
