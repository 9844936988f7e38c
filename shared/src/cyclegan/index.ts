export * from './errors.js';
export * from './spec.js';
export * from './patches.js';
export * from './networks.js';
export * from './trainer.js';
export * from './train.js';
export * from './io.js';
export { registerCycleGanGradients } from './gradients.js';
export * from './volumes.js';
