/**
 * The options of Sidecar.start() and their validation. Every bad option is an ERR_INVALID_ARG naming it.
 */
import { isAbsolute, resolve } from 'node:path';
import { SidecarError, checkInteger, invalidArg } from '../errors.js';
import { RING_MAX_CAPACITY, RING_MIN_CAPACITY } from '../ring/layout.js';
import { resolveWaitPolicy, type ResolvedWaitPolicy, type WaitPolicy } from '../ring/wait-policy.js';
import { SIDECAR_CONTROL_SIZE } from './layout.js';
import { resolveSandbox, type ResolvedSandbox, type SandboxOptions } from '../sandbox/options.js';

export type SidecarMode = 'thread' | 'process';

/**
 * The host V-table: callbacks the native side triggers. All of them run on the JavaScript thread that started the
 * sidecar, one at a time, in the order the sidecar produced them (init, then process/event/log as they happened,
 * then dispose). A callback that throws does not stop the sidecar: the exception is emitted as an 'error' event.
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
  /** A plugin call (init, process, dispose) running longer than this (ms) counts as hung. */
  timeoutMs: number;
}

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
}

export const DEFAULT_RING_BYTES = 1 << 20;
export const DEFAULT_MAX_QUEUE = 65_536;
export const DEFAULT_MAX_QUEUE_BYTES = 64 << 20;
export const DEFAULT_MAX_INIT_EVENT_BYTES = 4 << 20;
/** Largest config: the control block segment must fit the region's 2^31-byte limit with both rings. */
export const MAX_CONFIG_BYTES = (1 << 24) - SIDECAR_CONTROL_SIZE;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const HOST_CALLBACKS = ['init', 'process', 'event', 'log', 'dispose'] as const;

function ringBytes(name: string, value: unknown): number {
  if (value === undefined) return DEFAULT_RING_BYTES;
  const n = checkInteger(name, value, RING_MIN_CAPACITY, RING_MAX_CAPACITY / 4);
  if ((n & (n - 1)) !== 0) throw invalidArg(name, `a power of two from ${RING_MIN_CAPACITY} to ${RING_MAX_CAPACITY / 4}`, value);
  return n;
}

function configBytes(value: unknown): Uint8Array {
  let bytes: Uint8Array;
  if (value === undefined) bytes = new Uint8Array(0);
  else if (typeof value === 'string') bytes = new TextEncoder().encode(value);
  else if (value instanceof ArrayBuffer) bytes = new Uint8Array(value);
  else if (ArrayBuffer.isView(value)) bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  else throw invalidArg('config', 'a string, an ArrayBuffer or an ArrayBufferView', value);
  if (bytes.byteLength > MAX_CONFIG_BYTES) throw invalidArg('config', `at most ${MAX_CONFIG_BYTES} bytes long`, value);
  return bytes;
}

function hostTable(value: unknown): SidecarHost {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw invalidArg('host', 'an object of optional callbacks', value);
  for (const name of HOST_CALLBACKS) {
    const fn = (value as Record<string, unknown>)[name];
    if (fn !== undefined && typeof fn !== 'function') throw invalidArg(`host.${name}`, 'a function', fn);
  }
  return value as SidecarHost;
}

function restartPolicy(value: unknown, mode: SidecarMode): ResolvedRestartPolicy | undefined {
  if (value === undefined || value === false) return undefined;
  if (mode !== 'process') {
    throw new SidecarError('ERR_INVALID_ARG', "The option 'restart' needs mode 'process': a crash in thread mode ends the whole Node.js process.");
  }
  const p = (value === true ? {} : value) as RestartPolicy;
  if (p === null || typeof p !== 'object') throw invalidArg('restart', 'a boolean or a restart policy object', value);
  return {
    maxRestarts: p.maxRestarts === undefined ? 3 : checkInteger('restart.maxRestarts', p.maxRestarts, 0, 1_000_000),
    backoffMs: p.backoffMs === undefined ? 100 : checkInteger('restart.backoffMs', p.backoffMs, 0, MAX_TIMEOUT_MS),
    maxBackoffMs: p.maxBackoffMs === undefined ? 5000 : checkInteger('restart.maxBackoffMs', p.maxBackoffMs, 0, MAX_TIMEOUT_MS),
    resetAfterMs: p.resetAfterMs === undefined ? 60_000 : checkInteger('restart.resetAfterMs', p.resetAfterMs, 0, MAX_TIMEOUT_MS),
  };
}

function trustFlag(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalidArg('options.trustPluginFile', 'a boolean', value);
  return value;
}

/** Validates `options` and fills in the defaults. Throws ERR_INVALID_ARG naming the first bad option. */
export function resolveSidecarOptions(options: unknown): ResolvedSidecarOptions {
  if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object with at least a plugin path', options);
  const o = options as SidecarOptions;
  if (typeof o.plugin !== 'string' || o.plugin.length === 0 || o.plugin.includes('\0')) {
    throw invalidArg('options.plugin', 'a non-empty path string', o.plugin);
  }
  const mode = o.mode ?? 'thread';
  if (mode !== 'thread' && mode !== 'process') throw invalidArg('options.mode', "'thread' or 'process'", o.mode);
  const watchdog = o.watchdog;
  if (watchdog !== undefined && (watchdog === null || typeof watchdog !== 'object')) {
    throw invalidArg('options.watchdog', 'an object such as { timeoutMs: 5000 }', watchdog);
  }
  return {
    // dlopen() searches the library path for a name without a slash: make every path explicit.
    plugin: isAbsolute(o.plugin) ? o.plugin : resolve(o.plugin),
    mode,
    config: configBytes(o.config),
    host: hostTable(o.host),
    waitPolicy: resolveWaitPolicy(o.waitPolicy, 'options.waitPolicy'),
    commandRingBytes: ringBytes('options.commandRingBytes', o.commandRingBytes),
    eventRingBytes: ringBytes('options.eventRingBytes', o.eventRingBytes),
    restart: restartPolicy(o.restart, mode),
    watchdogMs: watchdog === undefined ? undefined : checkInteger('options.watchdog.timeoutMs', watchdog.timeoutMs, 1, MAX_TIMEOUT_MS),
    startTimeoutMs: o.startTimeoutMs === undefined ? 10_000 : checkInteger('options.startTimeoutMs', o.startTimeoutMs, 1, MAX_TIMEOUT_MS),
    stopTimeoutMs: o.stopTimeoutMs === undefined ? 5_000 : checkInteger('options.stopTimeoutMs', o.stopTimeoutMs, 1, MAX_TIMEOUT_MS),
    maxQueue: o.maxQueue === undefined ? DEFAULT_MAX_QUEUE : checkInteger('options.maxQueue', o.maxQueue, 0, 2 ** 30),
    maxQueueBytes: o.maxQueueBytes === undefined ? DEFAULT_MAX_QUEUE_BYTES : checkInteger('options.maxQueueBytes', o.maxQueueBytes, 0, 2 ** 40),
    maxInitEventBytes:
      o.maxInitEventBytes === undefined ? DEFAULT_MAX_INIT_EVENT_BYTES : checkInteger('options.maxInitEventBytes', o.maxInitEventBytes, 0, 2 ** 31 - 1),
    eventStreamHighWaterMark:
      o.eventStreamHighWaterMark === undefined ? 1024 : checkInteger('options.eventStreamHighWaterMark', o.eventStreamHighWaterMark, 1, 2 ** 30),
    sandbox: resolveSandbox(o.sandbox, mode),
    trustPluginFile: trustFlag(o.trustPluginFile),
  };
}
