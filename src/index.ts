/**
 * The public entry of native-sidecar: the product — Sidecar, SharedRegion, Ring, the parkers, the errors and the
 * layouts of the wire format. The interop showcase is `native-sidecar/showcase`; test peers and internal helpers
 * are not exported (test/public-surface.test.ts lists every name and fails on an accidental one).
 */
export { NativeSidecarError, RingError, RegionError, SidecarError, BufferPoolError } from './errors.js';
export type { ErrorCode } from './errors.js';
export * as ringLayout from './ring/layout.js';
export * as regionLayout from './region/layout.js';
export * as buffersLayout from './loans/layout.js';
export { Ring } from './ring/ring.js';
export type { RingRecord, RingCreateOptions, RingAttachOptions, RingWaitOptions, RingSalvage, SalvagedRecord } from './ring/ring.js';
export { defaultParker, setDefaultParkerFactory } from './ring/parker.js';
export type { Parker, ParkResult } from './ring/parker.js';
export { DEFAULT_WAIT_POLICY, DEFAULT_SPIN_THEN_PARK_MICROS, DEFAULT_SPIN_SLICE_MICROS, MAX_SPIN_MICROS } from './ring/wait-policy.js';
export type { WaitPolicy, WaitMode } from './ring/wait-policy.js';
export { SharedRegion, type SegmentInfo, type SharedRegionCreateOptions, type SharedRegionOpenOptions } from './region/shared-region.js';
export { RegionServer, type RegionPeer, type RegionServeOptions, type RegionConnectOptions } from './region/handover.js';
export { NativeParker } from './native/parker.js';
export type { NativeParkerOptions, ParkerMechanism } from './native/parker.js';
export { EventfdParker } from './native/eventfd-parker.js';
export { includeDir } from './include-dir.js';
export * from './sidecar/index.js';
export * from './pool/index.js';
export * from './loans/index.js';
