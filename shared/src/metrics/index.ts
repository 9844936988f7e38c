export * from './volumes.js';
export * from './dice.js';
export * from './distance-transform.js';
export * from './hausdorff.js';
export * from './components.js';
export * from './evaluate.js';
export * from './plausibility.js';
