/**
 * Loads the native addon (build/Release/native_sidecar.node from a local build, or the package's prebuilt
 * prebuilds/<platform>-<arch>/native_sidecar.napi.node; src/native/artifacts.ts) once per thread and describes
 * its exports. Other modules never `require` the .node file themselves. Test hook: {@link ADDON_PATH_ENV}.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeSidecarError } from '../errors.js';
import { addonFile, prebuildTarget } from './artifacts.js';

/** Result of one native futex wait (see {@link NativeFutexWaiter.wait}). */
export type FutexWaitResult = 'ok' | 'not-equal' | 'timed-out' | 'cancelled';

/**
 * A native thread that blocks in the kernel on one 32-bit word of shared memory for the JavaScript thread.
 * All methods: the JavaScript thread that created it. Idle, it does not keep the process alive; a pending wait does.
 */
export interface NativeFutexWaiter {
  /**
   * Starts a wait on word `index` of `view` while it holds `expected` (FUTEX_WAIT semantics, shared futex, so a wake
   * from another process counts). `timeoutMs` < 0 or Infinity waits without a timeout. `callback` runs once, later,
   * on this JavaScript thread. One wait at a time (ERR_INVALID_STATE otherwise). Keeps `view` alive until the callback.
   */
  wait(view: Int32Array, index: number, expected: number, timeoutMs: number, callback: (result: FutexWaitResult) => void): void;
  /** Makes a pending wait finish with 'cancelled' (unless it already finished). No effect when idle. */
  cancel(): void;
  /** Cancels a pending wait (its callback still runs), stops and joins the thread. Idempotent. */
  close(): void;
  readonly pending: boolean;
  readonly closed: boolean;
}

/**
 * An io_uring whose fd the event loop polls, for futex waits through IORING_OP_FUTEX_WAIT (native/addon/uring_futex.cc);
 * the native half of NativeParker's 'io_uring' mechanism. All methods: the JavaScript thread that created it. Idle, it
 * does not keep the process alive; a pending wait does.
 */
export interface NativeUringFutexWaiter {
  /**
   * Arms a wait on word `index` of `view` while it holds `expected` (shared futex: a FUTEX_WAKE from any thread or
   * process counts). `timeoutMs` < 0 or Infinity waits without a timeout. Returns a token for cancel(), or -1 when
   * every slot is busy (nothing started: wait some other way). `callback` runs once, later, on this JavaScript thread.
   * Keeps `view` alive, and pins a SharedRegion's mapping, until the kernel has reported the wait.
   */
  wait(view: Int32Array, index: number, expected: number, timeoutMs: number, callback: (result: FutexWaitResult) => void): number;
  /** Makes the wait of `token` finish with 'cancelled' soon, unless it already finished. Stale tokens: no effect. */
  cancel(token: number): void;
  /** Cancels every pending wait (their callbacks still run), then releases the ring. Idempotent. */
  close(): void;
  /** Waits whose callback has not run yet. */
  readonly pending: number;
  /** The io_uring's fd (close-on-exec); -1 once released. */
  readonly fd: number;
}

/**
 * An eventfd watched by libuv on this thread's event loop (native/addon/eventfd.cc); the native half of
 * EventfdParker. All methods: the JavaScript thread that created it. The fd may be written by any thread or process.
 */
export interface NativeEventfdWaiter {
  /** The eventfd (close-on-exec, non-blocking), to hand to a producer; -1 once closed. */
  readonly fd: number;
  readonly closed: boolean;
  /** Keeps the event loop (and this object) alive: while a wait is pending. Idempotent. */
  ref(): void;
  /** Stops keeping the event loop alive. Idempotent. */
  unref(): void;
  /** Adds 1 to the eventfd's counter. ERR_INVALID_STATE once closed. */
  signal(): void;
  /** Stops watching and closes the fd; the constructor's callback never runs afterwards. Idempotent. */
  close(): void;
}

/** A mapped region as the addon sees it; src/region/shared-region.ts is the public facade. */
export interface NativeRegionHandle {
  /** The mapping as an external ArrayBuffer; undefined once closed (the buffer is then detached). */
  readonly buffer: ArrayBuffer | undefined;
  /** The region's own file descriptor (close-on-exec); -1 once closed. */
  readonly fd: number;
  readonly size: number;
  readonly name: string | undefined;
  /** The segment table as validated at open time (a snapshot; empty for a region this object created). */
  readonly segments: ReadonlyArray<{ kind: number; offset: number; size: number }>;
  readonly closed: boolean;
  close(): void;
}

export interface NativeRegionConstructor {
  new (how: 'create', size: number): NativeRegionHandle;
  new (how: 'create-named', size: number, name: string): NativeRegionHandle;
  new (how: 'open-named', name: string, trustPeer: boolean): NativeRegionHandle;
  new (how: 'open-fd', fd: number, trustPeer: boolean): NativeRegionHandle;
  unlink(name: string): void;
  randomName(): string;
}

/** fd_passing.cc: the server side of the region handover (docs/wire-format.md §1.2). */
export interface NativeRegionServerHandle {
  close(): void;
}

/** The addon's exports. Components add their own members here. */
export interface NativeAddon {
  readonly wireFormatVersion: number;
  futexWake(view: Int32Array, index: number): number;
  readonly FutexWaiter: new (options?: { singleWordWait?: boolean }) => NativeFutexWaiter;
  readonly NativeRegion: NativeRegionConstructor;
  /** '' when io_uring futex waits work in this process (probed once), else a sentence saying why not. */
  uringFutexSupport(): string;
  /** Throws ERR_SYSTEM when io_uring futex waits are not available (see uringFutexSupport). */
  readonly UringFutexWaiter: new () => NativeUringFutexWaiter;
  /** Listens on `path` and sends a duplicate of `regionFd` to each client whose uid passes; reports each client. */
  readonly NativeRegionServer: new (
    path: string,
    regionFd: number,
    allowUids: readonly number[] | undefined,
    onPeer: (uid: number, pid: number, sent: boolean, reason: string) => void,
  ) => NativeRegionServerHandle;
  /** Connects to `path`, checks the server's uid, resolves with the received fd (close-on-exec; the caller owns it). */
  receiveRegionFd(path: string, allowUids: readonly number[] | undefined, timeoutMs: number): Promise<number>;
  /** The CPUs the calling thread may run on, ascending (native/addon/affinity.cc). Throws ERR_SYSTEM on failure. */
  threadAffinity(): number[];
  /**
   * Pins the calling thread (only it, not the process) to `cpus`. Throws ERR_INVALID_ARG for a bad list and
   * ERR_SCHEDULING_DENIED (with `errno`, `syscall`) when the kernel refuses; nothing changes then.
   */
  setThreadAffinity(cpus: readonly number[]): void;
  /**
   * `onReadable(count)` runs on this JavaScript thread each time the eventfd became readable, after it was drained
   * (`count` > 0 writes' worth, coalesced), or once with -1 when polling failed (it then stops).
   */
  readonly EventfdWaiter: new (onReadable: (count: number) => void) => NativeEventfdWaiter;
  /** A test/benchmark peer on a native thread (native/addon/ring_peer_thread.cc); see src/testing/peers.ts. */
  readonly RingPeerThread: new (
    view: Uint8Array,
    options: Record<string, unknown>,
    callback: (result: import('../testing/peers.js').PeerResult) => void,
  ) => { stop(): void; readonly running: boolean };
}

/**
 * Test hook, not an API: when this environment variable is set (and not empty), {@link loadAddon} loads the .node file
 * it names instead of the one src/native/artifacts.ts finds. native/test/sanitize-addon.sh uses it to run tests
 * against the copy built under ASan+UBSan (build/asan/native_sidecar.node). Only the addon moves: the executables and
 * plugins stay the ones artifacts.ts finds.
 */
export const ADDON_PATH_ENV = 'NATIVE_SIDECAR_ADDON_PATH';
/** How many directories above this module to look for build/ (dist/native → 2; .out/src/native → 3). */
const SEARCH_DEPTH = 4;

let cached: NativeAddon | undefined;

/**
 * The absolute path of `relative` (for example 'build/Release/ring_peer'), searched in this module's directory and
 * its ancestors up to the package root, or undefined when it is not there (not built).
 */
export function findBuildArtifact(relative: string): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i <= SEARCH_DEPTH; i++) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/**
 * Returns the addon, loading it on first use (per thread: each worker loads its own instance).
 * The file is the one src/native/artifacts.ts finds (build/Release first, then prebuilds/), or the one named by the
 * test hook {@link ADDON_PATH_ENV} (a path relative to the current directory is resolved against it; read at the
 * first load of each thread).
 * Throws NativeSidecarError ERR_ADDON_MISSING when the .node file is absent (including a file named by
 * ADDON_PATH_ENV that does not exist) or cannot be loaded.
 */
export function loadAddon(): NativeAddon {
  if (cached !== undefined) return cached;
  const override = process.env[ADDON_PATH_ENV];
  if (override !== undefined && override !== '' && !existsSync(resolve(override))) {
    throw new NativeSidecarError(
      'ERR_ADDON_MISSING',
      `The native addon ${resolve(override)} named by ${ADDON_PATH_ENV} (a test hook) does not exist; unset it or build that file (native/test/sanitize-addon.sh builds build/asan/native_sidecar.node).`,
    );
  }
  const path = override !== undefined && override !== '' ? resolve(override) : addonFile();
  if (path === undefined) {
    throw new NativeSidecarError(
      'ERR_ADDON_MISSING',
      `The native addon of native-sidecar was found neither in build/Release nor in prebuilds/${prebuildTarget()}; this platform has no prebuilt binaries, so build them from source with \`npm rebuild native-sidecar\` (needs a C/C++ compiler and Python).`,
    );
  }
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (error) {
    throw new NativeSidecarError(
      'ERR_ADDON_MISSING',
      `The native addon ${path} could not be loaded (${(error as Error).message}); run \`npm install\` to rebuild it.`,
      { cause: error },
    );
  }
  return cached;
}
