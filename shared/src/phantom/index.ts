export * from './random.js';
export * from './profiles.js';
export * from './anatomy.js';
export * from './appearance.js';
export * from './generate.js';
export * from './gallery.js';
export * from './site.js';
export * from './run-in-worker.js';
