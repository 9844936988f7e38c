export { initEngine, parseBackendRequest, resolveBackend, resolveThreads, ENGINE_BACKENDS, type EngineBackend, type BackendRequest, type EngineInfo, type EngineOptions } from './backend-selection.js';
export { EngineError, EngineMemoryError } from './errors.js';
export { checkHeapRoom, WASM_HEAP_LIMIT, WASM_HEAP_RESERVE } from './kernels/wasm-heap.js';
export { registerFusedKernels, registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './kernels/index.js';
export { MAX_WASM_THREADS } from './wasm-threaded.js';
export { hasFusedInstanceNormAct, instanceNormAct, instanceNormActGrad, type InstanceNormActResult, type InstanceNormActGradients } from './ops/instance-norm-act.js';
export { INSTANCE_NORM_ACT, INSTANCE_NORM_ACT_GRAD, type InstanceNormActAttrs } from './kernels/instance-norm-act.js';
export { hasFusedSoftmaxDice, softmaxDiceLoss } from './ops/softmax-dice.js';
