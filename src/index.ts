export * from './errors.js';
export * as ringLayout from './ring/layout.js';
export * as regionLayout from './region/layout.js';
export { Ring } from './ring/ring.js';
export type { RingRecord, RingCreateOptions, RingAttachOptions, RingWaitOptions } from './ring/ring.js';
export { defaultParker, setDefaultParkerFactory } from './ring/parker.js';
export type { Parker, ParkResult } from './ring/parker.js';
export { DEFAULT_WAIT_POLICY, DEFAULT_SPIN_THEN_PARK_MICROS, DEFAULT_SPIN_SLICE_MICROS, MAX_SPIN_MICROS } from './ring/wait-policy.js';
export type { WaitPolicy, WaitMode } from './ring/wait-policy.js';
