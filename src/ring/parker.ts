/**
 * The Parker: how a JavaScript thread sleeps on a futex word of a ring without blocking its event loop, and how it
 * wakes a sleeper (native or JavaScript, in this process or another). See docs/wire-format.md §5.1.
 *
 * The ring module does not import the native addon. The addon's module `src/native/parker.ts` registers its
 * implementation at load time with {@link setDefaultParkerFactory}; `src/index.ts` imports that module, so users of
 * the package get the native parker without doing anything. This keeps `src/ring/` compilable and usable (spin mode,
 * explicit parkers) when the addon is not built, and makes the missing addon an error only at the moment a Ring must
 * actually park or wake (ERR_ADDON_MISSING).
 */
import { NativeSidecarError } from '../errors.js';

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
   * The memory of `view` must stay mapped until the promise settles.
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
 * Registers how {@link defaultParker} makes the process-wide default Parker (called by `src/native/parker.ts` when it
 * loads). A later registration replaces an earlier one for Parkers not yet made. JavaScript thread.
 */
export function setDefaultParkerFactory(make: () => Parker): void {
  factory = make;
}

/**
 * The default Parker of this JavaScript thread (the native one), made on first use and shared by every Ring of the
 * thread that was given no `parker` option. Rings never close it; it must hold the event loop open only while a
 * wait is pending. Throws NativeSidecarError ERR_ADDON_MISSING when no native parker is registered.
 */
export function defaultParker(): Parker {
  if (shared !== undefined) return shared;
  if (factory === undefined) {
    throw new NativeSidecarError(
      'ERR_ADDON_MISSING',
      'The ring must park or wake a peer, but no native parker is available; run `npm install` to build the native ' +
        "addon, pass a 'parker' option, or use the wait policy { mode: 'spin' }.",
    );
  }
  shared = factory();
  return shared;
}
