export { SidecarPool } from './pool.js';
export type {
  PoolEvent, PoolRequestOptions, PoolSendOptions, PoolBroadcastOptions, PoolStopOptions, PoolExit, MemberChange, PoolPoison,
  MemberStats, PoolStats, PoolEventMap,
} from './pool.js';
export type { SidecarPoolOptions, PoolSize } from './options.js';
export type { Percentiles } from './metrics.js';
export type { MemberState } from './member.js';
export type { RequestKey } from './router.js';
