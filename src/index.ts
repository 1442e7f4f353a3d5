export * from './errors.js';
export * as ringLayout from './ring/layout.js';
export * as regionLayout from './region/layout.js';
export { SharedRegion, type SegmentInfo, type SharedRegionCreateOptions } from './region/shared-region.js';
export { NativeParker } from './native/parker.js';
