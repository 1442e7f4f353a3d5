/**
 * The Parker: how a JavaScript thread sleeps on a futex word of a ring without blocking its event loop, and how it
 * wakes a sleeper (native or JavaScript, in this process or another). See docs/wire-format.md §5.1.
 *
 * The default is the native parker of `src/native/parker.ts`. Importing it loads nothing: the addon is loaded on the
 * first wait or wake, so `src/ring/` stays usable without a built addon (spin mode, or an explicit `parker`) and a
 * missing addon is an error (ERR_ADDON_MISSING) only at the moment a Ring actually has to park or wake a peer.
 * `setDefaultParkerFactory` replaces the default (a test double, or a platform without the addon).
 */
import { NativeParker } from '../native/parker.js';

export type ParkResult = 'ok' | 'not-equal' | 'timed-out';

export interface Parker {
  /**
   * Wakes every waiter blocked on word `index` of `view` (FUTEX_WAKE, all waiters, shared futex). Any thread; does
   * not block. Wake-ups are not counted: a wake with nobody waiting is lost, which is why the caller changes the word
   * first (§5.1).
   */
  wake(view: Int32Array, index: number): void;
  /**
   * Resolves when word `index` of `view` may no longer equal `expected` ('ok' after a wake, 'not-equal' if it already
   * differed), or with 'timed-out' after `timeoutMs` milliseconds (a negative `timeoutMs` waits without limit).
   * Rejects when `signal` aborts. Called on the JavaScript thread; the promise settles on that thread's event loop.
   * Spurious resolutions are allowed: callers always re-check the ring.
   * A Ring may have several waits pending on one Parker at once (its producer side waiting for space while its
   * consumer side waits for data, or concurrent `readable()` calls), so implementations must support concurrent waits.
   * The memory of `view` stays mapped until the promise settles, with one exception: a Ring always passes a signal,
   * and aborts it when its SharedRegion is closed, just before the memory is unmapped. From the abort on, a wait must
   * not touch `view`'s memory (NativeParker pins the mapping until the kernel has left the wait: the io_uring wait's
   * completion arrived, or the waiter thread returned) and should
   * settle soon; the Ring does not wait for it (its own promise rejects with ERR_REGION_CLOSED at once). `signal` is
   * an AbortSignal or undefined; anything else is refused with ERR_INVALID_ARG (a rejected promise).
   */
  wait(
    view: Int32Array,
    index: number,
    expected: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ParkResult>;
  /** Releases the parker's resources (threads, handles); pending waits reject. A Ring never closes a Parker. */
  close(): void;
}

let factory: (() => Parker) | undefined;
let shared: Parker | undefined;

/**
 * Replaces how {@link defaultParker} makes this thread's default Parker; applies only if the default has not been
 * made yet (Rings already waiting keep theirs). JavaScript thread.
 */
export function setDefaultParkerFactory(make: () => Parker): void {
  factory = make;
}

/**
 * The default Parker of this JavaScript thread, made on first use and shared by every Ring of the thread that was
 * given no `parker` option: a NativeParker (io_uring futex waits where available, else waiter threads; concurrent
 * waits supported; a pending wait keeps the process alive, an idle parker does not). Rings never close it. Its wait rejects and its wake throws NativeSidecarError
 * ERR_ADDON_MISSING when the native addon is not built.
 */
export function defaultParker(): Parker {
  shared ??= factory !== undefined ? factory() : new NativeParker();
  return shared;
}
