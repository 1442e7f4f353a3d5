/**
 * The common interface of the two bindings of libns_showcase: Node-API (`napi-binding.ts`) and koffi
 * (`koffi-binding.ts`). Both call the same C functions of the same loaded library; they differ only in how a call
 * crosses between JavaScript and C, which is what the showcase and the `calls` benchmark compare.
 */
import type { InteropError, NativeSidecarError } from '../errors.js';

export type BindingName = 'napi' | 'koffi';

/**
 * A JS function registered with the native library. Native code holds only its handle (a slot index and a
 * generation number), never a pointer: after `release()` every native call through the handle fails with
 * ERR_CALLBACK_RELEASED, even if the slot has been reused.
 */
export interface CallbackHandle {
  /** The native handle (> 0). */
  readonly id: number;
  readonly released: boolean;
  /**
   * Unregisters the callback (JS thread). New native calls fail at once; calls already running on native threads
   * finish first, and only then is the function freed (Node-API: its thread-safe function released; koffi: its
   * trampoline unregistered). Calling it twice is harmless.
   */
  release(): void;
}

/** A callback handle, or a bare handle number (as native code would hold it). */
export type CallbackRef = CallbackHandle | number;

/** The host V-table: JS functions native code receives as a C struct of function pointers. */
export interface HostVTable {
  log(message: string): void;
  add(a: number, b: number): number;
}

/** The native V-table: C function pointers JS receives in a struct and calls through. */
export interface NativeVTable {
  readonly size: number;
  readonly version: number;
  add(a: number, b: number): number;
  multiply(a: number, b: number): number;
  fnv1a(bytes: Uint8Array): number;
  describe(): string;
}

/** A ring segment inside a buffer: `byteLength` = Ring.segmentSize(capacity). */
export interface RingSegment {
  buffer: ArrayBuffer;
  byteOffset: number;
  byteLength: number;
}

export type CallMode = 'fire-and-forget' | 'blocking';

export interface CallThreadOptions {
  /** Calls to make, with the values 0, 1, …, count − 1. */
  count: number;
  /** fire-and-forget: the native thread queues the call and goes on; blocking: it waits for the JS return value. */
  mode: CallMode;
  /** Milliseconds the thread sleeps before its first call (default 0). */
  delayMs?: number;
  /** Blocking calls: give up after this many milliseconds (0 = never; default). Node-API only — koffi cannot. */
  timeoutMs?: number;
}

export interface ThreadReport {
  callsOk: number;
  failures: number;
  /** The error of the first failed call; the thread stops there. */
  firstError: NativeSidecarError | null;
  /** FNV-1a-32 (src/showcase/checksum.ts) of the values sent (fire-and-forget, ring threads) or results (blocking). */
  checksum: number;
  /** Native time from the first call to the end of the last. */
  elapsedNs: number;
}

/** A native thread started through a binding. */
export interface NativeThread {
  readonly id: number;
  /** Resolves when the thread has finished, without blocking the event loop (JS callbacks keep running). */
  join(): Promise<ThreadReport>;
  /**
   * Blocks the JS thread until the native thread finishes. Deadlock guard: if that thread makes (or is making) a
   * blocking call to this JS thread, one side fails with ERR_DEADLOCK instead of both waiting forever — the thread's
   * call (reported in `firstError`), or this join (thrown; the thread stays joinable).
   */
  joinSync(): ThreadReport;
  /** The report if the thread has finished, else null. Never blocks. */
  tryJoin(): ThreadReport | null;
  /** Asks the thread to stop before its next call. Does not wait. */
  stop(): void;
}

/** Everything the showcase does, through one binding. Every method runs on the JS thread that opened the binding. */
export interface InteropBinding {
  readonly name: BindingName;

  /** JS → C: `ns_sc_add` (wraps like int32). */
  add(a: number, b: number): number;
  /** JS → C: a call that does nothing, the floor of a binding's per-call cost. */
  noop(): void;

  /** Registers a message callback; native code calls it with a string. */
  registerMessageCallback(fn: (message: string) => void): CallbackHandle;
  /** Registers a value callback; native code calls it with an int32 and uses the int32 it returns. */
  registerValueCallback(fn: (value: number) => number): CallbackHandle;

  /** Native code calls the message callback with "Hello World from Native C++!", now, on this thread. */
  sayHello(callback: CallbackRef): void;
  /** Native code calls the message callback with `message`, now, on this thread. */
  say(callback: CallbackRef, message: string): void;
  /** Native code calls the value callback with `value` and returns its result. */
  callValue(callback: CallbackRef, value: number): number;
  /** Native code calls the value callback `count` times (0 … count − 1); returns the FNV-1a checksum of results. */
  callValueRepeat(callback: CallbackRef, count: number): number;

  /** Hands `table` to native code as a C struct; native code logs two lines through it and returns 21 + 21. */
  runHostVTable(table: HostVTable): number;
  /** The library's own V-table. */
  nativeVTable(): NativeVTable;

  /** Native code consumes one text record from the ring (JS is the producer); null when the ring is empty. */
  ringReceiveText(segment: RingSegment): string | null;
  /** Native code publishes one text record into the ring (JS is the consumer); false when the ring is full. */
  ringSendText(segment: RingSegment, text: string): boolean;

  /** Starts a native thread that calls the value callback (see CallThreadOptions). */
  startCallThread(callback: CallbackRef, options: CallThreadOptions): NativeThread;
  /**
   * Starts a native thread that consumes `count` records of the ring (JS produces). The segment's buffer is kept
   * referenced by the returned thread until it is joined; it must not be detached or transferred meanwhile.
   */
  startRingSink(segment: RingSegment, count: number): NativeThread;
  /** Starts a native thread that produces `count` records of `length` bytes (JS consumes), then closes the ring. */
  startRingSource(segment: RingSegment, count: number, length: number): NativeThread;

  /** Releases every callback registered through this binding and stops and joins its threads. Idempotent. */
  close(): void;
}

export type { InteropError };
