export * from './errors.js';
export * as ringLayout from './ring/layout.js';
export * as regionLayout from './region/layout.js';
export * from './sidecar/index.js';
