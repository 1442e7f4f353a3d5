/**
 * The options of Sidecar.start() and their validation. Every bad option — a wrong value, or a key that is not an
 * option (a misspelling, with the closest known key suggested) — is an ERR_INVALID_ARG SidecarError naming it as
 * `options.<path>`.
 */
import { isAbsolute, resolve } from 'node:path';
import { SidecarError } from '../errors.js';
import { MAX_TIMEOUT_MS, badArg, checkKeys, intArg, knownKeys } from './args.js';
import { RING_MAX_CAPACITY, RING_MIN_CAPACITY } from '../ring/layout.js';
import { resolveWaitPolicy, type ResolvedWaitPolicy, type WaitPolicy } from '../ring/wait-policy.js';
import { SIDECAR_CONTROL_SIZE } from './layout.js';
import { resolveSandbox, type ResolvedSandbox, type SandboxOptions } from '../sandbox/options.js';
import { resolveScheduling, type ResolvedScheduling, type SchedulingOptions } from './scheduling.js';

export type SidecarMode = 'thread' | 'process';

/**
 * The host V-table: callbacks the native side triggers. All of them run on the JavaScript thread that started the
 * sidecar, one at a time, in the order the sidecar produced them (init, then process/event/log as they happened,
 * then dispose). A callback that throws does not stop the sidecar: it is reported as an 'error' event, a SidecarError
 * ERR_CALLBACK_THREW naming the callback, with the exception as its `cause`. Keys other than the five callbacks are
 * allowed (the callbacks are called with this object as `this`, so it may carry the caller's state).
 */
export interface SidecarHost {
  /** The plugin's init succeeded (once per native start, so again after each restart). */
  init?(): void;
  /**
   * The sidecar is about to process a command. `data` is a zero-copy view into shared memory, valid only during
   * the call (copy it with `data.slice()` to keep it). Defining this callback makes the sidecar echo every command
   * back, which costs a copy per command; leave it out on hot paths.
   */
  process?(data: Uint8Array, type: number): void;
  /** The plugin emitted event `id`. `data` is a zero-copy view valid only during the call. */
  event?(id: number, data: Uint8Array): void;
  /** The plugin logged a line (level: 0 debug, 1 info, 2 warn, 3 error). */
  log?(level: number, message: string): void;
  /** The plugin's dispose returned (the last callback of a normal stop). */
  dispose?(): void;
}

export interface RestartPolicy {
  /** Restarts allowed before the sidecar gives up (default 3). */
  maxRestarts?: number;
  /** Delay before the first restart in ms (default 100); doubled after each restart, up to maxBackoffMs. */
  backoffMs?: number;
  /** Upper bound of the delay in ms (default 5000). */
  maxBackoffMs?: number;
  /** A sidecar that ran this long (ms) before it died starts again with a fresh restart count (default 60000). */
  resetAfterMs?: number;
}

export interface WatchdogOptions {
  /** A plugin call (init, process, dispose) running longer than this (ms, an integer ≥ 1) counts as hung. */
  timeoutMs: number;
}

/**
 * The options of Sidecar.start(). A key that is not one of these (at any level: restart, watchdog, waitPolicy,
 * sandbox, sandbox.limits, scheduling — but not host) is refused with ERR_INVALID_ARG naming it and suggesting the closest known
 * one. Timeouts (startTimeoutMs, stopTimeoutMs, watchdog.timeoutMs, and the `timeout` of request() and stop()) are
 * integers of milliseconds from 1 to 2^31 − 1: 0 is refused, never read as "no timeout" or "at once"; leave the
 * option out for its default. Delays (restart.backoffMs, maxBackoffMs) may be 0.
 */
export interface SidecarOptions {
  /** Path of the plugin shared library (relative paths are resolved against the current directory). */
  plugin: string;
  /** 'thread' (default): a native thread in this process. 'process': a separate, crash-isolated process. */
  mode?: SidecarMode;
  /** Bytes handed to the plugin's init (a string is encoded as UTF-8). */
  config?: ArrayBufferView | ArrayBuffer | string;
  /** The host V-table. */
  host?: SidecarHost;
  /** How both sides wait for work: the native loop for commands, this thread for events (default spin-then-park). */
  waitPolicy?: WaitPolicy;
  /** Data bytes of the command ring (host → sidecar): a power of two, default 1 MiB. */
  commandRingBytes?: number;
  /** Data bytes of the event ring (sidecar → host): a power of two, default 1 MiB. */
  eventRingBytes?: number;
  /** Process mode: start a new sidecar after a crash (true = the defaults of RestartPolicy). Default: no restart. */
  restart?: boolean | RestartPolicy;
  /** Detect a hung plugin call; process mode kills the sidecar, thread mode emits an 'error'. Default: off. */
  watchdog?: WatchdogOptions;
  /** How long start() waits for the plugin's init to finish (ms, default 10000). */
  startTimeoutMs?: number;
  /** How long stop() waits for a graceful end before it kills a sidecar process (ms, default 5000). */
  stopTimeoutMs?: number;
  /**
   * Most commands that may wait in the in-memory backlog (commands sent while the command ring is full or the sidecar
   * restarts); one more makes send()/request() reject with ERR_QUEUE_FULL. Default 65536.
   */
  maxQueue?: number;
  /** Most bytes of command data the backlog may hold (same effect as maxQueue). Default 64 MiB. */
  maxQueueBytes?: number;
  /**
   * Most bytes of events the plugin may emit during init (they wait for READY, to be delivered right after
   * host.init()). A plugin that emits more fails its start: ERR_SIDECAR_START at the first start, a crash (restart
   * policy) at a restart. Default 4 MiB.
   */
  maxInitEventBytes?: number;
  /**
   * Events an events() iterator may hold unconsumed before the sidecar stops reading the event ring until it is
   * consumed (backpressure; nothing is dropped). Default 1024.
   */
  eventStreamHighWaterMark?: number;
  /**
   * Process mode: the confinement of the sidecar process (docs/security.md). Default (left out or true): the default
   * profile — empty environment, only its own descriptors, read-only access to the plugin and the system libraries,
   * no network, no access to other processes, 256 open files. An object widens it with named knobs; false runs the
   * process unconfined. Thread mode: none of this can apply (the plugin runs inside Node); setting it is an error.
   */
  sandbox?: boolean | SandboxOptions;
  /**
   * Load the plugin even when its file or directory could be replaced by another user (not owned by this user or
   * root, or group/world-writable). Default false: start() rejects with ERR_PLUGIN_UNSAFE. Both modes.
   */
  trustPluginFile?: boolean;
  /**
   * Scheduling priority and CPU placement of the runtime thread (both modes; process mode: the sidecar process), and
   * optionally the CPUs of this JavaScript thread (`pumpCpus`, which pins this whole thread). Applied by the runtime
   * to itself before the sandbox and before the plugin loads; a refusal by the kernel makes start() reject with
   * ERR_SCHEDULING_DENIED. Default: none (everything inherited from this thread). See SchedulingOptions.
   */
  scheduling?: SchedulingOptions;
}

export interface ResolvedRestartPolicy {
  maxRestarts: number;
  backoffMs: number;
  maxBackoffMs: number;
  resetAfterMs: number;
}

export interface ResolvedSidecarOptions {
  plugin: string;
  mode: SidecarMode;
  config: Uint8Array;
  host: SidecarHost;
  waitPolicy: ResolvedWaitPolicy;
  commandRingBytes: number;
  eventRingBytes: number;
  restart: ResolvedRestartPolicy | undefined;
  watchdogMs: number | undefined;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  maxQueue: number;
  maxQueueBytes: number;
  maxInitEventBytes: number;
  eventStreamHighWaterMark: number;
  /** null: unconfined (thread mode, or sandbox: false). */
  sandbox: ResolvedSandbox | null;
  trustPluginFile: boolean;
  /** null: none requested. */
  scheduling: ResolvedScheduling | null;
}

export const DEFAULT_RING_BYTES = 1 << 20;
export const DEFAULT_MAX_QUEUE = 65_536;
export const DEFAULT_MAX_QUEUE_BYTES = 64 << 20;
export const DEFAULT_MAX_INIT_EVENT_BYTES = 4 << 20;
/** Largest config: the control block segment must fit the region's 2^31-byte limit with both rings. */
export const MAX_CONFIG_BYTES = (1 << 24) - SIDECAR_CONTROL_SIZE;
export { MAX_TIMEOUT_MS };
const HOST_CALLBACKS = ['init', 'process', 'event', 'log', 'dispose'] as const;

const OPTION_KEYS = knownKeys<SidecarOptions>({
  plugin: true,
  mode: true,
  config: true,
  host: true,
  waitPolicy: true,
  commandRingBytes: true,
  eventRingBytes: true,
  restart: true,
  watchdog: true,
  startTimeoutMs: true,
  stopTimeoutMs: true,
  maxQueue: true,
  maxQueueBytes: true,
  maxInitEventBytes: true,
  eventStreamHighWaterMark: true,
  sandbox: true,
  trustPluginFile: true,
  scheduling: true,
});
const RESTART_KEYS = knownKeys<RestartPolicy>({ maxRestarts: true, backoffMs: true, maxBackoffMs: true, resetAfterMs: true });
const WATCHDOG_KEYS = knownKeys<WatchdogOptions>({ timeoutMs: true });
const WAIT_POLICY_KEYS = knownKeys<WaitPolicy>({ mode: true, spinMicros: true });

function ringBytes(name: string, value: unknown): number {
  if (value === undefined) return DEFAULT_RING_BYTES;
  const n = intArg(name, value, RING_MIN_CAPACITY, RING_MAX_CAPACITY / 4);
  if ((n & (n - 1)) !== 0) throw badArg(name, `a power of two from ${RING_MIN_CAPACITY} to ${RING_MAX_CAPACITY / 4}`, value);
  return n;
}

function configBytes(value: unknown): Uint8Array {
  let bytes: Uint8Array;
  if (value === undefined) bytes = new Uint8Array(0);
  else if (typeof value === 'string') bytes = new TextEncoder().encode(value);
  else if (value instanceof ArrayBuffer) bytes = new Uint8Array(value);
  else if (ArrayBuffer.isView(value)) bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  else throw badArg('options.config', 'a string, an ArrayBuffer or an ArrayBufferView', value);
  if (bytes.byteLength > MAX_CONFIG_BYTES) throw badArg('options.config', `at most ${MAX_CONFIG_BYTES} bytes long`, value);
  return bytes;
}

/**
 * The host table. Its other keys are not refused: the callbacks are called with the table as `this`, so it may
 * carry the caller's own state next to them.
 */
function hostTable(value: unknown): SidecarHost {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw badArg('options.host', 'an object of optional callbacks', value);
  for (const name of HOST_CALLBACKS) {
    const fn = (value as Record<string, unknown>)[name];
    if (fn !== undefined && typeof fn !== 'function') throw badArg(`options.host.${name}`, 'a function', fn);
  }
  return value as SidecarHost;
}

function restartPolicy(value: unknown, mode: SidecarMode): ResolvedRestartPolicy | undefined {
  if (value === undefined || value === false) return undefined;
  if (value !== true && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw badArg('options.restart', 'a boolean or a restart policy object such as { maxRestarts: 3 }', value);
  }
  if (mode !== 'process') {
    throw new SidecarError('ERR_INVALID_ARG', "The argument 'options.restart' needs mode 'process': a crash in thread mode ends the whole Node.js process.");
  }
  const p = (value === true ? {} : value) as RestartPolicy;
  checkKeys('options.restart', p, RESTART_KEYS);
  return {
    maxRestarts: p.maxRestarts === undefined ? 3 : intArg('options.restart.maxRestarts', p.maxRestarts, 0, 1_000_000),
    backoffMs: p.backoffMs === undefined ? 100 : intArg('options.restart.backoffMs', p.backoffMs, 0, MAX_TIMEOUT_MS),
    maxBackoffMs: p.maxBackoffMs === undefined ? 5000 : intArg('options.restart.maxBackoffMs', p.maxBackoffMs, 0, MAX_TIMEOUT_MS),
    resetAfterMs: p.resetAfterMs === undefined ? 60_000 : intArg('options.restart.resetAfterMs', p.resetAfterMs, 0, MAX_TIMEOUT_MS),
  };
}

function watchdogMs(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badArg('options.watchdog', 'an object such as { timeoutMs: 5000 }', value);
  }
  checkKeys('options.watchdog', value, WATCHDOG_KEYS);
  return intArg('options.watchdog.timeoutMs', (value as WatchdogOptions).timeoutMs, 1, MAX_TIMEOUT_MS, ' (milliseconds)');
}

function waitPolicy(value: unknown): ResolvedWaitPolicy {
  if (value !== null && typeof value === 'object') checkKeys('options.waitPolicy', value, WAIT_POLICY_KEYS);
  return resolveWaitPolicy(value, 'options.waitPolicy', SidecarError);
}

function timeoutMs(name: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : intArg(name, value, 1, MAX_TIMEOUT_MS, ` (milliseconds; leave it out for the default, ${fallback})`);
}

function trustFlag(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw badArg('options.trustPluginFile', 'a boolean', value);
  return value;
}

/**
 * Validates `options` and fills in the defaults. Throws ERR_INVALID_ARG (a SidecarError) naming the first bad option:
 * an unknown key first (at each level), then the values in the order of SidecarOptions.
 */
export function resolveSidecarOptions(options: unknown): ResolvedSidecarOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw badArg('options', 'an object with at least a plugin path', options);
  }
  checkKeys('options', options, OPTION_KEYS);
  const o = options as SidecarOptions;
  if (typeof o.plugin !== 'string' || o.plugin.length === 0 || o.plugin.includes('\0')) {
    throw badArg('options.plugin', 'a non-empty path string', o.plugin);
  }
  const mode = o.mode ?? 'thread';
  if (mode !== 'thread' && mode !== 'process') throw badArg('options.mode', "'thread' or 'process'", o.mode);
  return {
    // dlopen() searches the library path for a name without a slash: make every path explicit.
    plugin: isAbsolute(o.plugin) ? o.plugin : resolve(o.plugin),
    mode,
    config: configBytes(o.config),
    host: hostTable(o.host),
    waitPolicy: waitPolicy(o.waitPolicy),
    commandRingBytes: ringBytes('options.commandRingBytes', o.commandRingBytes),
    eventRingBytes: ringBytes('options.eventRingBytes', o.eventRingBytes),
    restart: restartPolicy(o.restart, mode),
    watchdogMs: watchdogMs(o.watchdog),
    startTimeoutMs: timeoutMs('options.startTimeoutMs', o.startTimeoutMs, 10_000),
    stopTimeoutMs: timeoutMs('options.stopTimeoutMs', o.stopTimeoutMs, 5_000),
    maxQueue: o.maxQueue === undefined ? DEFAULT_MAX_QUEUE : intArg('options.maxQueue', o.maxQueue, 0, 2 ** 30),
    maxQueueBytes: o.maxQueueBytes === undefined ? DEFAULT_MAX_QUEUE_BYTES : intArg('options.maxQueueBytes', o.maxQueueBytes, 0, 2 ** 40),
    maxInitEventBytes:
      o.maxInitEventBytes === undefined ? DEFAULT_MAX_INIT_EVENT_BYTES : intArg('options.maxInitEventBytes', o.maxInitEventBytes, 0, 2 ** 31 - 1),
    eventStreamHighWaterMark:
      o.eventStreamHighWaterMark === undefined ? 1024 : intArg('options.eventStreamHighWaterMark', o.eventStreamHighWaterMark, 1, 2 ** 30),
    sandbox: resolveSandbox(o.sandbox, mode),
    trustPluginFile: trustFlag(o.trustPluginFile),
    scheduling: resolveScheduling(o.scheduling, mode),
  };
}
