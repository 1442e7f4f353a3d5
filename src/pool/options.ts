/**
 * The options of SidecarPool.start() and their validation. A pool takes every option of Sidecar.start() — they are
 * passed to each member — and a few of its own. Every bad option is an ERR_INVALID_ARG SidecarError naming it as
 * `options.<path>`, a key that is no option of either included (with the closest known key suggested).
 */
import { availableParallelism } from 'node:os';
import type { WaitPolicy } from '../ring/wait-policy.js';
import { badArg, checkKeys, intArg, knownKeys } from '../sidecar/args.js';
import {
  DEFAULT_MAX_QUEUE,
  DEFAULT_MAX_QUEUE_BYTES,
  MAX_TIMEOUT_MS,
  resolveSidecarOptions,
  type ResolvedSidecarOptions,
  type SidecarMode,
  type SidecarOptions,
} from '../sidecar/options.js';

/** The size of a pool: a fixed number of members, or bounds between which it grows with load and shrinks when idle. */
export interface PoolSize {
  /** Members kept running even when idle (default 1; 0 allowed: an idle pool then holds no process). */
  min?: number;
  /** Most members at once (default os.availableParallelism()). */
  max?: number;
}

/**
 * The options of SidecarPool.start(): every option of Sidecar.start() (each member is a Sidecar started with them;
 * `maxQueue` and `maxQueueBytes` bound the pool's queue instead of a member's backlog) and the pool's own.
 */
export interface SidecarPoolOptions extends SidecarOptions {
  /** 'process' (default for a pool: members are crash-isolated and can be killed to stop a cancelled call) or 'thread'. */
  mode?: SidecarMode;
  /**
   * How members and this thread wait (as Sidecar's option). Default for a pool: { mode: 'park' } — all members' replies
   * are taken on this one thread, where a spinning wait for one member holds up the others (docs/pool.md).
   */
  waitPolicy?: WaitPolicy;
  /** A number n (min = max = n) or { min, max }. Default { min: 1, max: os.availableParallelism() }. */
  size?: number | PoolSize;
  /**
   * Requests a member holds at once (running and waiting in its command ring), 1 … 1024; default 1, as piscina's
   * concurrentTasksPerWorker. More keeps a member busy through the round trip of each reply (throughput for short
   * requests) at the cost of routing: a request queued behind a slow one on a member waits for it.
   */
  concurrency?: number;
  /**
   * Requests and sends that may wait in the pool's queue (no member free for them); one more rejects with
   * ERR_QUEUE_FULL. Default 65536. With `maxQueueBytes` (default 64 MiB of payload copies) this bounds the pool's memory.
   */
  maxQueue?: number;
  maxQueueBytes?: number;
  /** A member above `size.min` with nothing in flight for this long (ms, 1 … 2^31 − 1) is stopped. Default 10000. */
  idleTimeoutMs?: number;
  /** Period of the 'stats' event (ms), which is emitted only while it has a listener. Default 1000. */
  statsIntervalMs?: number;
  /** Most commands the pool-wide poison quarantine remembers (the oldest is forgotten first). Default 1024. */
  maxQuarantine?: number;
}

export interface ResolvedPoolOptions {
  /** What every member is started with (already validated; `maxQueue` left at the Sidecar default). */
  member: SidecarOptions;
  resolvedMember: ResolvedSidecarOptions;
  mode: SidecarMode;
  min: number;
  max: number;
  concurrency: number;
  maxQueue: number;
  maxQueueBytes: number;
  idleTimeoutMs: number;
  statsIntervalMs: number;
  maxQuarantine: number;
}

/** Most members of one pool. */
export const MAX_POOL_SIZE = 1024;
export const MAX_CONCURRENCY = 1024;

const POOL_KEYS = knownKeys<Omit<SidecarPoolOptions, keyof SidecarOptions> & Pick<SidecarPoolOptions, 'maxQueue' | 'maxQueueBytes'>>({
  size: true,
  concurrency: true,
  maxQueue: true,
  maxQueueBytes: true,
  idleTimeoutMs: true,
  statsIntervalMs: true,
  maxQuarantine: true,
});
const SIZE_KEYS = knownKeys<PoolSize>({ min: true, max: true });
const MEMBER_KEYS = knownKeys<SidecarOptions>({
  plugin: true, mode: true, config: true, host: true, waitPolicy: true, commandRingBytes: true, eventRingBytes: true,
  restart: true, watchdog: true, startTimeoutMs: true, stopTimeoutMs: true, maxQueue: true, maxQueueBytes: true,
  maxInitEventBytes: true, eventStreamHighWaterMark: true, sandbox: true, trustPluginFile: true, scheduling: true,
});

function size(value: unknown): { min: number; max: number } {
  const cores = Math.min(availableParallelism(), MAX_POOL_SIZE);
  if (value === undefined) return { min: 1, max: cores };
  if (typeof value === 'number') {
    const n = intArg('options.size', value, 1, MAX_POOL_SIZE);
    return { min: n, max: n };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badArg('options.size', 'a number of members or an object such as { min: 1, max: 4 }', value);
  }
  checkKeys('options.size', value, SIZE_KEYS);
  const s = value as PoolSize;
  const max = s.max === undefined ? Math.max(cores, s.min ?? 1) : intArg('options.size.max', s.max, 1, MAX_POOL_SIZE);
  const min = s.min === undefined ? Math.min(1, max) : intArg('options.size.min', s.min, 0, max, ` (at most options.size.max, ${max})`);
  return { min, max };
}

/** Validates `options` (throws ERR_INVALID_ARG); the member options are checked as Sidecar.start() would check them. */
export function resolvePoolOptions(options: unknown): ResolvedPoolOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw badArg('options', 'an object with at least a plugin path', options);
  }
  checkKeys('options', options, [...new Set([...MEMBER_KEYS, ...POOL_KEYS])]);
  const o = options as SidecarPoolOptions;
  const mode = o.mode ?? 'process';
  const given = options as Record<string, unknown>;
  const member: Record<string, unknown> = {};
  for (const key of MEMBER_KEYS) {
    if (key === 'maxQueue' || key === 'maxQueueBytes') continue; // the pool's, not a member's
    if (given[key] !== undefined) member[key] = given[key];
  }
  member.mode = mode;
  // A pool's process members restart after a crash by default (the pool's promise: members crash, the pool goes on).
  if (mode === 'process' && o.restart === undefined) member.restart = true;
  // Every member's event pump runs on this one JavaScript thread: a pump that spins waiting for its member's reply
  // holds the thread the other members' replies need, and takes a core from the members (docs/pool.md "Wait policy").
  if (o.waitPolicy === undefined) member.waitPolicy = { mode: 'park' };
  const resolvedMember = resolveSidecarOptions(member as unknown as SidecarOptions);
  const { min, max } = size(o.size);
  return {
    member: member as unknown as SidecarOptions,
    resolvedMember,
    mode,
    min,
    max,
    concurrency: o.concurrency === undefined ? 1 : intArg('options.concurrency', o.concurrency, 1, MAX_CONCURRENCY),
    maxQueue: o.maxQueue === undefined ? DEFAULT_MAX_QUEUE : intArg('options.maxQueue', o.maxQueue, 0, 2 ** 30),
    maxQueueBytes: o.maxQueueBytes === undefined ? DEFAULT_MAX_QUEUE_BYTES : intArg('options.maxQueueBytes', o.maxQueueBytes, 0, 2 ** 40),
    idleTimeoutMs: o.idleTimeoutMs === undefined ? 10_000 : intArg('options.idleTimeoutMs', o.idleTimeoutMs, 1, MAX_TIMEOUT_MS),
    statsIntervalMs: o.statsIntervalMs === undefined ? 1000 : intArg('options.statsIntervalMs', o.statsIntervalMs, 1, MAX_TIMEOUT_MS),
    maxQuarantine: o.maxQuarantine === undefined ? 1024 : intArg('options.maxQuarantine', o.maxQuarantine, 0, 1 << 20),
  };
}
