export * from './spec.js';
export * from './weights.js';
export * from './random.js';
export * from './freeze.js';
export * from './batches.js';
export * from './unet.js';
export * from './loss.js';
export * from './trainer.js';
export { registerTrainingGradients } from './gradients.js';
