/**
 * The Node-API binding of libns_showcase: compiled glue (native/addon/showcase.cc, class ShowcaseBinding of the
 * project's addon) that dlopen()s the library. Calls from native threads reach JS through thread-safe functions.
 */
import { invalidArg, NativeSidecarError } from '../errors.js';
import { loadAddon } from '../native/addon.js';
import { RegisteredCallback } from './callback-handle.js';
import { showcaseLibraryPath } from './library-path.js';
import { ThreadHandle, type RawReport, type ThreadOps } from './native-thread.js';
import { CALL_MESSAGE, CALL_VALUE, nativeStatusOf, statusError, SC_ERELEASED } from './status.js';
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

/** The surface of the addon class ShowcaseBinding (native/addon/showcase.cc). Errors carry `nsStatus`. */
interface NativeShowcase {
  add(a: number, b: number): number;
  noop(): void;
  register(kind: number, fn: (arg: never) => unknown): number;
  unregister(id: number): number;
  sayHello(id: number): void;
  say(id: number, message: string): void;
  callValue(id: number, value: number): number;
  callValueRepeat(id: number, count: number): number;
  hostVTableDemo(log: (message: string) => void, add: (a: number, b: number) => number): number;
  nativeVTable(): NativeVTable;
  ringReceiveText(buffer: ArrayBuffer, byteOffset: number, byteLength: number): string | null;
  ringSendText(buffer: ArrayBuffer, byteOffset: number, byteLength: number, text: string): boolean;
  startCallThread(id: number, count: number, flags: number, delayMs: number, timeoutMs: number): number;
  startRingSink(buffer: ArrayBuffer, byteOffset: number, byteLength: number, count: number): number;
  startRingSource(buffer: ArrayBuffer, byteOffset: number, byteLength: number, count: number, length: number): number;
  stopThread(id: number): void;
  joinThread(id: number): RawReport;
  tryJoinThread(id: number): RawReport | null;
  close(): void;
}

type NativeShowcaseClass = new (libraryPath: string) => NativeShowcase;

function loadClass(): NativeShowcaseClass {
  const addon = loadAddon() as unknown as { ShowcaseBinding?: NativeShowcaseClass };
  if (typeof addon.ShowcaseBinding !== 'function') {
    throw new NativeSidecarError('ERR_ADDON_MISSING', 'The native addon has no ShowcaseBinding; run `npm install` to rebuild it.');
  }
  return addon.ShowcaseBinding;
}

/** Runs a native call; an addon error with a library status becomes the typed error, JS errors pass unchanged. */
function call<T>(what: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    const status = nativeStatusOf(error);
    throw status === undefined ? error : statusError(status, what);
  }
}

export class NapiBinding implements InteropBinding {
  readonly name = 'napi' as const;
  readonly #native: NativeShowcase;
  readonly #threadOps: ThreadOps;

  /** Opens the library at `libraryPath` (default: the one built by `npm install`). JS thread. */
  constructor(libraryPath: string = showcaseLibraryPath()) {
    const Native = loadClass();
    this.#native = new Native(libraryPath);
    const native = this.#native;
    this.#threadOps = {
      join: (id) => call('Joining the native thread', () => native.joinThread(id)),
      tryJoin: (id) => call('Joining the native thread', () => native.tryJoinThread(id)),
      stop: (id) => call('Stopping the native thread', () => native.stopThread(id)),
      joined: () => {},
    };
  }

  add(a: number, b: number): number {
    return this.#native.add(v.int32('a', a), v.int32('b', b));
  }

  noop(): void {
    this.#native.noop();
  }

  registerMessageCallback(fn: (message: string) => void): CallbackHandle {
    return this.#register(CALL_MESSAGE, fn);
  }

  registerValueCallback(fn: (value: number) => number): CallbackHandle {
    return this.#register(CALL_VALUE, fn);
  }

  #register(kind: typeof CALL_MESSAGE | typeof CALL_VALUE, fn: (arg: never) => unknown): CallbackHandle {
    v.fn('fn', fn);
    const id = call('Registering the callback', () => this.#native.register(kind, fn));
    return new RegisteredCallback(id, () => this.#unregister(id));
  }

  #unregister(id: number): void {
    try {
      this.#native.unregister(id);
    } catch (error) {
      // Already released by close() (the binding released everything): nothing left to do.
      if (nativeStatusOf(error) !== SC_ERELEASED) call('Releasing the callback', () => { throw error; });
    }
  }

  sayHello(callback: CallbackRef): void {
    const id = v.callbackId(callback);
    call('Calling the callback', () => this.#native.sayHello(id));
  }

  say(callback: CallbackRef, message: string): void {
    const id = v.callbackId(callback);
    const text = v.text('message', message);
    call('Calling the callback', () => this.#native.say(id, text));
  }

  callValue(callback: CallbackRef, value: number): number {
    const id = v.callbackId(callback);
    const arg = v.int32('value', value);
    return call('Calling the callback', () => this.#native.callValue(id, arg));
  }

  callValueRepeat(callback: CallbackRef, count: number): number {
    const id = v.callbackId(callback);
    const n = v.uint32('count', count);
    return call('Calling the callback repeatedly', () => this.#native.callValueRepeat(id, n)) >>> 0;
  }

  runHostVTable(table: HostVTable): number {
    const log = v.fn<(message: string) => void>('table.log', table?.log);
    const add = v.fn<(a: number, b: number) => number>('table.add', table?.add);
    return call('The host V-table demo', () =>
      this.#native.hostVTableDemo((message) => log.call(table, message), (a, b) => add.call(table, a, b)),
    );
  }

  nativeVTable(): NativeVTable {
    const table = this.#native.nativeVTable();
    // The addon's functions trust their argument types; check them here.
    return {
      size: table.size,
      version: table.version,
      add: (a, b) => table.add(v.int32('a', a), v.int32('b', b)),
      multiply: (a, b) => table.multiply(v.int32('a', a), v.int32('b', b)),
      fnv1a: (bytes) => {
        if (!(bytes instanceof Uint8Array)) throw invalidArg('bytes', 'a Uint8Array', bytes);
        return table.fnv1a(bytes) >>> 0;
      },
      describe: () => table.describe(),
    };
  }

  ringReceiveText(segment: RingSegment): string | null {
    const s = v.segment(segment);
    return call('Receiving text from the ring', () => this.#native.ringReceiveText(s.buffer, s.byteOffset, s.byteLength));
  }

  ringSendText(segment: RingSegment, text: string): boolean {
    const s = v.segment(segment);
    const t = v.text('text', text);
    return call('Sending text through the ring', () => this.#native.ringSendText(s.buffer, s.byteOffset, s.byteLength, t));
  }

  startCallThread(callback: CallbackRef, options: CallThreadOptions): NativeThread {
    const id = v.callbackId(callback);
    const o = v.callThreadFlags(options);
    const thread = call('Starting the native thread', () =>
      this.#native.startCallThread(id, o.count, o.flags, o.delayMs, o.timeoutMs),
    );
    return new ThreadHandle(thread, this.#threadOps);
  }

  startRingSink(segment: RingSegment, count: number): NativeThread {
    const s = v.segment(segment);
    const n = v.uint32('count', count);
    const thread = call('Starting the ring sink thread', () => this.#native.startRingSink(s.buffer, s.byteOffset, s.byteLength, n));
    return new ThreadHandle(thread, this.#threadOps);
  }

  startRingSource(segment: RingSegment, count: number, length: number): NativeThread {
    const s = v.segment(segment);
    const n = v.uint32('count', count);
    const len = v.uint32('length', length);
    const thread = call('Starting the ring source thread', () =>
      this.#native.startRingSource(s.buffer, s.byteOffset, s.byteLength, n, len),
    );
    return new ThreadHandle(thread, this.#threadOps);
  }

  close(): void {
    this.#native.close();
  }
}
