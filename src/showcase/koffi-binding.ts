/**
 * The FFI binding of libns_showcase, through koffi: no compiled glue. The C prototypes are declared here, JS
 * functions become C function pointers with `koffi.register` (freed with `koffi.unregister`), and the V-tables are
 * koffi structs.
 *
 * Threads: every method runs on the JS thread that opened the binding. A registered callback that native code
 * calls on that thread runs synchronously; one called from another native thread is relayed by koffi to the JS
 * thread while the native thread waits — with koffi every call from another thread is *blocking*, there is no
 * fire-and-forget (the 'fire-and-forget' mode here only means the thread ignores the result). The C library knows
 * this (plain function pointers called from a foreign thread are always guarded), so the deadlock guard applies.
 */
import { createRequire } from 'node:module';
import type { LibraryHandle, TypeObject } from 'koffi';
import { InteropError, invalidArg } from '../errors.js';
import { RegisteredCallback } from './callback-handle.js';
import { showcaseLibraryPath } from './library-path.js';
import { ThreadHandle, type RawReport, type ThreadOps } from './native-thread.js';
import { check, statusError, SC_EBUSY, SC_ECLOSED, SC_EDEADLOCK, SC_EEMPTY, SC_EFULL, SC_ERELEASED } from './status.js';
import type {
  CallbackHandle,
  CallbackRef,
  CallThreadOptions,
  HostVTable,
  InteropBinding,
  NativeThread,
  NativeVTable,
  RingSegment,
} from './types.js';
import * as v from './validate.js';

type Fn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * koffi is an optional peer dependency (only this binding uses it): loaded on the first KoffiBinding, so that
 * importing the showcase without koffi installed works and the N-API binding stays usable.
 */
type Koffi = typeof import('koffi').default;
let koffi: Koffi;

function loadKoffi(): void {
  if (koffi !== undefined) return;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (error) {
    throw new InteropError(
      'ERR_ADDON_MISSING',
      "The koffi binding of the showcase needs the package 'koffi' (an optional peer dependency of native-sidecar): install it with `npm install koffi`.",
      { cause: error },
    );
  }
}

/** koffi types, created once per process: koffi keeps named types in a global registry. */
interface Types {
  MessageFn: TypeObject;
  ValueFn: TypeObject;
  HostLogFn: TypeObject;
  HostAddFn: TypeObject;
  HostVTable: TypeObject;
  AddFn: TypeObject;
  Fnv1aFn: TypeObject;
  DescribeFn: TypeObject;
  NativeVTable: TypeObject;
  Report: TypeObject;
}

const TYPES_KEY = Symbol.for('native-sidecar.showcase.koffi-types');

function types(): Types {
  const cache = globalThis as { [TYPES_KEY]?: Types };
  if (cache[TYPES_KEY]) return cache[TYPES_KEY];
  const MessageFn = koffi.proto('void', ['void *', 'str']);
  const ValueFn = koffi.proto('int32_t', ['void *', 'int32_t']);
  const HostLogFn = koffi.proto('void', ['void *', 'str']);
  const HostAddFn = koffi.proto('int32_t', ['void *', 'int32_t', 'int32_t']);
  const AddFn = koffi.proto('int32_t', ['int32_t', 'int32_t']);
  const Fnv1aFn = koffi.proto('uint32_t', ['const uint8_t *', 'uint32_t']);
  const DescribeFn = koffi.proto('const char *', []);
  const t: Types = {
    MessageFn,
    ValueFn,
    HostLogFn,
    HostAddFn,
    AddFn,
    Fnv1aFn,
    DescribeFn,
    // Same members, order and types as ns_sc_host_vtable / ns_sc_native_vtable / ns_sc_thread_report (showcase.h).
    HostVTable: koffi.struct({
      size: 'uint32_t',
      reserved: 'uint32_t',
      user: 'void *',
      log: koffi.pointer(HostLogFn),
      add: koffi.pointer(HostAddFn),
    }),
    NativeVTable: koffi.struct({
      size: 'uint32_t',
      version: 'uint32_t',
      add: koffi.pointer(AddFn),
      multiply: koffi.pointer(AddFn),
      fnv1a: koffi.pointer(Fnv1aFn),
      describe: koffi.pointer(DescribeFn),
    }),
    // Named: koffi.out() of a pointer to an anonymous struct is refused by koffi 3.3.
    Report: koffi.struct('ns_sc_thread_report', {
      calls_ok: 'uint32_t',
      failures: 'uint32_t',
      first_error: 'int32_t',
      checksum: 'uint32_t',
      elapsed_ns: 'uint64_t',
    }),
  };
  cache[TYPES_KEY] = t;
  return t;
}

/** The C functions of showcase.h, declared from TypeScript. */
function declare(lib: LibraryHandle, t: Types) {
  const out = (type: TypeObject) => koffi.out(koffi.pointer(type));
  return {
    registerMessage: lib.func('ns_sc_callback_register_message', 'int32_t', [koffi.pointer(t.MessageFn), 'void *']),
    registerValue: lib.func('ns_sc_callback_register_value', 'int32_t', [koffi.pointer(t.ValueFn), 'void *']),
    unregister: lib.func('ns_sc_callback_unregister', 'int32_t', ['int32_t']),
    inflight: lib.func('ns_sc_callback_inflight', 'int32_t', ['int32_t']),
    sayHello: lib.func('ns_sc_say_hello', 'int', ['int32_t']),
    say: lib.func('ns_sc_say', 'int', ['int32_t', 'str']),
    callValue: lib.func('ns_sc_call_value', 'int', ['int32_t', 'int32_t', out(koffi.types.int32_t)]),
    callValueRepeat: lib.func('ns_sc_call_value_repeat', 'int', ['int32_t', 'uint32_t', out(koffi.types.uint32_t)]),
    add: lib.func('ns_sc_add', 'int32_t', ['int32_t', 'int32_t']),
    noop: lib.func('ns_sc_noop', 'void', []),
    hostVTableDemo: lib.func('ns_sc_host_vtable_demo', 'int', [koffi.pointer(t.HostVTable), out(koffi.types.int32_t)]),
    nativeVTableGet: lib.func('ns_sc_native_vtable_get', koffi.pointer(t.NativeVTable), []),
    startCalls: lib.func('ns_sc_thread_start_calls', 'int32_t', ['int32_t', 'uint32_t', 'uint32_t', 'uint32_t', 'uint32_t']),
    startRingSink: lib.func('ns_sc_thread_start_ring_sink', 'int32_t', ['void *', 'uint32_t', 'uint32_t']),
    startRingSource: lib.func('ns_sc_thread_start_ring_source', 'int32_t', ['void *', 'uint32_t', 'uint32_t', 'uint32_t']),
    stop: lib.func('ns_sc_thread_stop', 'int', ['int32_t']),
    join: lib.func('ns_sc_thread_join', 'int', ['int32_t', out(t.Report)]),
    tryJoin: lib.func('ns_sc_thread_try_join', 'int', ['int32_t', out(t.Report)]),
    receiveText: lib.func('ns_sc_ring_receive_text', 'int32_t', ['void *', 'uint32_t', 'uint8_t *', 'uint32_t']),
    sendText: lib.func('ns_sc_ring_send_text', 'int', ['void *', 'uint32_t', 'str']),
  };
}

type Lib = ReturnType<typeof declare>;

interface CReport {
  calls_ok: number;
  failures: number;
  first_error: number;
  checksum: number;
  elapsed_ns: number | bigint;
}

function fromC(r: CReport): RawReport {
  return {
    callsOk: r.calls_ok,
    failures: r.failures,
    firstError: r.first_error,
    checksum: r.checksum,
    elapsedNs: Number(r.elapsed_ns),
  };
}

const RELEASE_POLL_MS = 1;
const TEXT_CAPACITY = 4096;

export class KoffiBinding implements InteropBinding {
  readonly name = 'koffi' as const;
  readonly #lib: Lib;
  readonly #callbacks = new Map<number, RegisteredCallback>();
  /** Threads not yet joined, with the buffer each borrows (kept referenced so it cannot be collected). */
  readonly #threads = new Map<number, ArrayBuffer | null>();
  readonly #threadOps: ThreadOps;
  /** > 0 while this thread is inside a synchronous call into the library (callbacks then run nested in it). */
  #depth = 0;
  /** The first exception a callback threw during the current synchronous call; rethrown when it returns. */
  #thrown: { error: unknown } | null = null;
  #closed = false;

  /** Loads the library at `libraryPath` (default: the one built by `npm install`). JS thread. */
  constructor(libraryPath: string = showcaseLibraryPath()) {
    loadKoffi();
    this.#lib = declare(koffi.load(libraryPath), types());
    const lib = this.#lib;
    this.#threadOps = {
      join: (id) => {
        const report = {} as CReport;
        check(this.#sync(() => lib.join(id, report) as number), 'Joining the native thread');
        return fromC(report);
      },
      tryJoin: (id) => {
        const report = {} as CReport;
        const status = lib.tryJoin(id, report) as number;
        if (status === SC_EBUSY) return null;
        check(status, 'Joining the native thread');
        return fromC(report);
      },
      stop: (id) => check(lib.stop(id) as number, 'Stopping the native thread'),
      joined: (id) => {
        this.#threads.delete(id);
      },
    };
  }

  /** Runs a synchronous native call that may call callbacks; rethrows the first exception one of them threw. */
  #sync<T>(body: () => T): T {
    this.#depth++;
    let result: T;
    try {
      result = body();
    } finally {
      this.#depth--;
    }
    if (this.#depth === 0 && this.#thrown) {
      const { error } = this.#thrown;
      this.#thrown = null;
      throw error;
    }
    return result;
  }

  /**
   * Wraps a user callback for koffi. koffi turns an exception into a zero return value, so it is caught here:
   * during a synchronous call it is rethrown when the call returns (as the Node-API binding does); on a call relayed
   * from another native thread it becomes an uncaught exception, as a throw in any event handler would.
   */
  #guard<A extends unknown[], R>(body: (...args: A) => R, fallback: R): (...args: A) => R {
    return (...args: A) => {
      if (this.#thrown) return fallback; // the current call already failed: skip the rest of its callbacks
      try {
        return body(...args);
      } catch (error) {
        if (this.#depth > 0) this.#thrown = { error };
        else queueMicrotask(() => { throw error; });
        return fallback;
      }
    };
  }

  #register(kind: 'message' | 'value', fn: Fn): CallbackHandle {
    if (this.#closed) throw statusError(SC_ECLOSED, 'Registering the callback');
    const t = types();
    const wrapped =
      kind === 'message'
        ? this.#guard((_user: unknown, message: string) => void fn(message), undefined)
        : this.#guard((_user: unknown, value: number) => fn(value) as number, 0);
    const pointer = koffi.register(wrapped, koffi.pointer(kind === 'message' ? t.MessageFn : t.ValueFn));
    const id = (kind === 'message' ? this.#lib.registerMessage(pointer, null) : this.#lib.registerValue(pointer, null)) as number;
    if (id < 0) {
      koffi.unregister(pointer);
      throw statusError(id, 'Registering the callback');
    }
    const handle = new RegisteredCallback(id, () => this.#releaseCallback(id, pointer));
    this.#callbacks.set(id, handle);
    return handle;
  }

  /**
   * Unregisters in C at once (new calls fail), but frees the koffi trampoline only when no native call of it is
   * still running: a native thread may be inside it, waiting for this JS thread, which must first return to its
   * event loop — so the check is polled from a timer rather than waited for.
   */
  #releaseCallback(id: number, pointer: bigint): void {
    this.#callbacks.delete(id);
    const running = this.#lib.unregister(id) as number;
    if (running === SC_ERELEASED) return;
    if (running < 0) throw statusError(running, 'Releasing the callback');
    const lib = this.#lib;
    const free = () => {
      const left = lib.inflight(id) as number;
      if (left > 0) setTimeout(free, RELEASE_POLL_MS);
      else koffi.unregister(pointer);
    };
    if (running === 0) koffi.unregister(pointer);
    else setTimeout(free, RELEASE_POLL_MS);
  }

  add(a: number, b: number): number {
    return this.#lib.add(v.int32('a', a), v.int32('b', b)) as number;
  }

  noop(): void {
    this.#lib.noop();
  }

  registerMessageCallback(fn: (message: string) => void): CallbackHandle {
    return this.#register('message', v.fn('fn', fn));
  }

  registerValueCallback(fn: (value: number) => number): CallbackHandle {
    return this.#register('value', v.fn('fn', fn));
  }

  sayHello(callback: CallbackRef): void {
    const id = v.callbackId(callback);
    check(this.#sync(() => this.#lib.sayHello(id) as number), 'Calling the callback');
  }

  say(callback: CallbackRef, message: string): void {
    const id = v.callbackId(callback);
    const text = v.text('message', message);
    check(this.#sync(() => this.#lib.say(id, text) as number), 'Calling the callback');
  }

  callValue(callback: CallbackRef, value: number): number {
    const id = v.callbackId(callback);
    const arg = v.int32('value', value);
    const result = [0];
    check(this.#sync(() => this.#lib.callValue(id, arg, result) as number), 'Calling the callback');
    return result[0] as number;
  }

  callValueRepeat(callback: CallbackRef, count: number): number {
    const id = v.callbackId(callback);
    const n = v.uint32('count', count);
    const checksum = [0];
    check(this.#sync(() => this.#lib.callValueRepeat(id, n, checksum) as number), 'Calling the callback repeatedly');
    return (checksum[0] as number) >>> 0;
  }

  runHostVTable(table: HostVTable): number {
    const log = v.fn<(message: string) => void>('table.log', table?.log);
    const add = v.fn<(a: number, b: number) => number>('table.add', table?.add);
    const t = types();
    // Registered only for the duration of the call: native code may not keep the table.
    const logPointer = koffi.register(this.#guard((_u: unknown, message: string) => void log.call(table, message), undefined), koffi.pointer(t.HostLogFn));
    const addPointer = koffi.register(this.#guard((_u: unknown, a: number, b: number) => add.call(table, a, b), 0), koffi.pointer(t.HostAddFn));
    try {
      const sum = [0];
      const vtable = { size: koffi.sizeof(t.HostVTable), reserved: 0, user: null, log: logPointer, add: addPointer };
      check(this.#sync(() => this.#lib.hostVTableDemo(vtable, sum) as number), 'The host V-table demo');
      return sum[0] as number;
    } finally {
      koffi.unregister(logPointer);
      koffi.unregister(addPointer);
    }
  }

  nativeVTable(): NativeVTable {
    const t = types();
    const table = koffi.decode(this.#lib.nativeVTableGet(), t.NativeVTable) as {
      size: number;
      version: number;
      add: unknown;
      multiply: unknown;
      fnv1a: unknown;
      describe: unknown;
    };
    // Each function calls through the pointer read from the table (koffi.call), not through a symbol.
    return {
      size: table.size,
      version: table.version,
      add: (a, b) => koffi.call(table.add, t.AddFn, v.int32('a', a), v.int32('b', b)) as number,
      multiply: (a, b) => koffi.call(table.multiply, t.AddFn, v.int32('a', a), v.int32('b', b)) as number,
      fnv1a: (bytes) => {
        if (!(bytes instanceof Uint8Array)) throw invalidArg('bytes', 'a Uint8Array', bytes);
        return (koffi.call(table.fnv1a, t.Fnv1aFn, bytes, bytes.byteLength) as number) >>> 0;
      },
      describe: () => koffi.call(table.describe, t.DescribeFn) as string,
    };
  }

  /** A view of the segment; koffi passes a view's own memory (no copy) to a `void *` parameter. */
  static #view(s: RingSegment): Uint8Array {
    return new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
  }

  ringReceiveText(segment: RingSegment): string | null {
    const s = v.segment(segment);
    const out = new Uint8Array(TEXT_CAPACITY);
    const n = this.#lib.receiveText(KoffiBinding.#view(s), s.byteLength, out, out.byteLength) as number;
    if (n === SC_EEMPTY) return null;
    if (n < 0) throw statusError(n, 'Receiving text from the ring');
    return Buffer.from(out.buffer, 0, n).toString('utf8');
  }

  ringSendText(segment: RingSegment, text: string): boolean {
    const s = v.segment(segment);
    const t = v.text('text', text);
    const status = this.#lib.sendText(KoffiBinding.#view(s), s.byteLength, t) as number;
    if (status === SC_EFULL) return false;
    check(status, 'Sending text through the ring');
    return true;
  }

  #track(id: number, borrowed: ArrayBuffer | null, what: string): NativeThread {
    if (id < 0) throw statusError(id, what);
    this.#threads.set(id, borrowed);
    return new ThreadHandle(id, this.#threadOps);
  }

  startCallThread(callback: CallbackRef, options: CallThreadOptions): NativeThread {
    if (this.#closed) throw statusError(SC_ECLOSED, 'Starting the native thread');
    const id = v.callbackId(callback);
    const o = v.callThreadFlags(options);
    if (o.timeoutMs !== 0) {
      throw invalidArg('options.timeoutMs', '0 with koffi (a call koffi relays to the JS thread cannot be abandoned)', o.timeoutMs);
    }
    return this.#track(this.#lib.startCalls(id, o.count, o.flags, o.delayMs, o.timeoutMs) as number, null, 'Starting the native thread');
  }

  /**
   * The thread keeps using the memory after this call returns, so it gets the address of the ArrayBuffer's backing
   * store (koffi.address), which V8 never moves; the buffer stays referenced in #threads until the join.
   */
  startRingSink(segment: RingSegment, count: number): NativeThread {
    const s = v.segment(segment);
    const n = v.uint32('count', count);
    const address = koffi.address(KoffiBinding.#view(s));
    return this.#track(this.#lib.startRingSink(address, s.byteLength, n) as number, s.buffer, 'Starting the ring sink thread');
  }

  startRingSource(segment: RingSegment, count: number, length: number): NativeThread {
    const s = v.segment(segment);
    const n = v.uint32('count', count);
    const len = v.uint32('length', length);
    const address = koffi.address(KoffiBinding.#view(s));
    return this.#track(this.#lib.startRingSource(address, s.byteLength, n, len) as number, s.buffer, 'Starting the ring source thread');
  }

  /**
   * Releases every callback and stops every thread. A thread that cannot be joined right now (it waits inside a
   * koffi relay for this JS thread) is reaped asynchronously once the event loop has let its call finish.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of this.#threads.keys()) this.#lib.stop(id);
    for (const callback of [...this.#callbacks.values()]) callback.release();
    for (const id of [...this.#threads.keys()]) {
      const report = {} as CReport;
      const status = this.#lib.join(id, report) as number;
      if (status === SC_EDEADLOCK) void new ThreadHandle(id, this.#threadOps).join().catch(() => {});
      else this.#threads.delete(id);
    }
  }
}
