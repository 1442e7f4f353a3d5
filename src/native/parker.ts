/**
 * The native Parker: lets the JavaScript thread park on a futex word of shared memory (wire-format §5.1) without
 * blocking its event loop, and be woken by native threads or other processes with a plain FUTEX_WAKE. Two mechanisms,
 * the same protocol (each is a FUTEX_WAIT on the shared word):
 * - 'io_uring' (Linux 6.7+, chosen when available): the wait is an io_uring IORING_OP_FUTEX_WAIT and the event loop
 *   polls the io_uring's fd, so a wake reaches the JavaScript thread with one sleeping wake-up. Up to 64 waits of a
 *   parker are in flight at once; more concurrent waits use the thread mechanism.
 * - 'thread' (the fallback: io_uring refused by seccomp or `kernel.io_uring_disabled`, an older kernel, or forced):
 *   each pending wait uses one native FutexWaiter thread that sleeps in the kernel and relays the wake to the event
 *   loop (two sleeping wake-ups); idle waiters are kept in a small pool and reused.
 */
import { NativeSidecarError, fromNative, invalidArg } from '../errors.js';
import type { ParkResult, Parker } from '../ring/parker.js';
import { loadAddon, type FutexWaitResult, type NativeFutexWaiter, type NativeUringFutexWaiter } from './addon.js';
import { waitArgsError } from './wait-args.js';

/** Idle waiters kept for reuse; each owns a parked native thread. More concurrent waits create more, then close them. */
const MAX_IDLE_WAITERS = 4;

/** How a NativeParker sleeps: see the module comment. */
export type ParkerMechanism = 'io_uring' | 'thread';

export interface NativeParkerOptions {
  /**
   * 'auto' (the default): 'io_uring' when this process may use io_uring futex waits, else 'thread'. 'thread': always
   * the waiter threads (for comparison, or to avoid io_uring). The environment variable {@link PARKER_MECHANISM_ENV}
   * set to 'thread' forces 'thread' for every NativeParker of the process, the default parker included.
   */
  mechanism?: 'auto' | 'thread';
}

/** Environment variable that, set to 'thread', makes every NativeParker use waiter threads (read at its first use). */
export const PARKER_MECHANISM_ENV = 'NATIVE_SIDECAR_PARKER';

export class NativeParker implements Parker {
  readonly #idle: NativeFutexWaiter[] = [];
  readonly #busy = new Set<NativeFutexWaiter>();
  readonly #requested: 'auto' | 'thread';
  /** undefined until decided (first wait or `mechanism`); null for the thread mechanism. */
  #uring: NativeUringFutexWaiter | null | undefined;
  #fallbackReason = '';
  #closed = false;

  /**
   * Loads nothing: the addon is loaded, and the mechanism chosen, on first use. Throws ERR_INVALID_ARG for an
   * options value that is not an object, a key that is no option, or a `mechanism` other than 'auto' or 'thread'.
   * Any JavaScript thread; every method must then be called on that thread.
   */
  constructor(options?: NativeParkerOptions) {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw invalidArg('options', 'an object or undefined', options);
    }
    for (const key of Object.keys(options ?? {})) {
      if (key !== 'mechanism') throw invalidArg('options', "an object with no key but 'mechanism'", key);
    }
    const mechanism = options?.mechanism ?? 'auto';
    if (mechanism !== 'auto' && mechanism !== 'thread') {
      throw invalidArg('options.mechanism', "'auto' or 'thread'", mechanism);
    }
    this.#requested = mechanism;
  }

  /**
   * The mechanism this parker uses ('io_uring' or 'thread'), chosen on first use: reading it chooses (and loads the
   * addon: ERR_ADDON_MISSING when it is not built). With 'io_uring', waits beyond the 64 in flight use threads.
   * JavaScript thread.
   */
  get mechanism(): ParkerMechanism {
    return this.#decide() !== null ? 'io_uring' : 'thread';
  }

  /** Why this parker uses threads: a sentence ('' with io_uring). Reading it chooses, like {@link mechanism}. */
  get fallbackReason(): string {
    this.#decide();
    return this.#fallbackReason;
  }

  /**
   * FUTEX_WAKE (shared) of every waiter on word `index` of `view`: JavaScript waiters of any NativeParker, native
   * threads and other processes alike. Any JavaScript thread; never blocks. Wake-ups are not counted: several wakes
   * before the waiter runs are one wake-up. Throws ERR_INVALID_ARG for a bad view or index.
   */
  wake(view: Int32Array, index: number): void {
    try {
      loadAddon().futexWake(view, index);
    } catch (error) {
      throw fromNative(NativeSidecarError, error);
    }
  }

  /**
   * Waits, without blocking the event loop, until word `index` of `view` is woken while holding `expected`.
   * Resolves 'not-equal' at once when it does not hold `expected`, 'ok' when woken (or on a spurious wake-up — the
   * caller always re-checks its condition, so a wake-up is only a hint), 'timed-out' after `timeoutMs` (< 0 or
   * Infinity: no timeout). Rejects ERR_ABORTED when `signal` fires, ERR_INVALID_ARG naming the argument for bad
   * arguments (checked before anything starts: `view` a non-empty Int32Array, `index` a word of it, `expected` a
   * 32-bit integer, `timeoutMs` a number, `signal` an AbortSignal or undefined), ERR_INVALID_STATE after close(),
   * ERR_ADDON_MISSING when the addon is not built.
   * The view (and its buffer) is kept alive until the promise settles. When the view is memory of a SharedRegion, the
   * mapping is pinned until the kernel has left the wait (the io_uring wait's completion arrived, or the waiter
   * thread returned from the kernel), so a region closed meanwhile (which aborts the waits of its Rings first) is
   * unmapped only then; after an abort the promise may reject before that.
   * Call on the JavaScript thread that created this parker; the promise settles on it. A pending wait keeps the
   * process alive.
   */
  wait(view: Int32Array, index: number, expected: number, timeoutMs: number, signal?: AbortSignal): Promise<ParkResult> {
    if (this.#closed) {
      return Promise.reject(new NativeSidecarError('ERR_INVALID_STATE', 'The parker was closed; no more waits can start on it.'));
    }
    const bad = waitArgsError(view, index, expected, timeoutMs, signal);
    if (bad !== undefined) return Promise.reject(bad);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    let uring: NativeUringFutexWaiter | null;
    try {
      uring = this.#decide();
    } catch (error) {
      return Promise.reject(fromNative(NativeSidecarError, error));
    }
    if (uring === null) return this.#threadWait(view, index, expected, timeoutMs, signal);
    return new Promise((resolve, reject) => {
      let token = -1;
      const onAbort = (): void => uring.cancel(token);
      try {
        // The callback never runs before wait() returns: token is set by then.
        token = uring.wait(view, index, expected, timeoutMs, (result) => {
          signal?.removeEventListener('abort', onAbort);
          settle(result, signal, resolve, reject);
        });
      } catch (error) {
        reject(fromNative(NativeSidecarError, error));
        return;
      }
      if (token < 0) {
        // Every io_uring slot is busy: this wait takes a thread.
        this.#threadWait(view, index, expected, timeoutMs, signal).then(resolve, reject);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #threadWait(view: Int32Array, index: number, expected: number, timeoutMs: number, signal?: AbortSignal): Promise<ParkResult> {
    let waiter: NativeFutexWaiter;
    try {
      waiter = this.#idle.pop() ?? new (loadAddon().FutexWaiter)();
    } catch (error) {
      return Promise.reject(fromNative(NativeSidecarError, error));
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => waiter.cancel();
      try {
        waiter.wait(view, index, expected, timeoutMs, (result) => {
          signal?.removeEventListener('abort', onAbort);
          this.#recycle(waiter);
          settle(result, signal, resolve, reject);
        });
      } catch (error) {
        this.#recycle(waiter);
        reject(fromNative(NativeSidecarError, error));
        return;
      }
      this.#busy.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Chooses the mechanism once; returns the io_uring waiter, or null for threads. Throws ERR_ADDON_MISSING. */
  #decide(): NativeUringFutexWaiter | null {
    if (this.#uring !== undefined) return this.#uring;
    const addon = loadAddon();
    if (this.#requested === 'thread') {
      this.#fallbackReason = "The parker was created with mechanism 'thread'.";
    } else if (process.env[PARKER_MECHANISM_ENV] === 'thread') {
      this.#fallbackReason = `The environment variable ${PARKER_MECHANISM_ENV} is 'thread'.`;
    } else {
      const why = addon.uringFutexSupport();
      if (why !== '') {
        this.#fallbackReason = `io_uring futex waits are not available: ${why}`;
      } else {
        try {
          this.#uring = new addon.UringFutexWaiter();
          return this.#uring;
        } catch (error) {
          this.#fallbackReason = error instanceof Error ? error.message : String(error);
        }
      }
    }
    this.#uring = null;
    return null;
  }

  /**
   * Cancels every pending wait, stops every waiter thread and releases the io_uring once the kernel has reported its
   * waits. Pending waits reject soon after with ERR_INVALID_STATE, and so do later waits. Idempotent. JavaScript
   * thread.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#uring?.close();
    for (const waiter of this.#idle) waiter.close();
    this.#idle.length = 0;
    for (const waiter of this.#busy) waiter.close();
  }

  #recycle(waiter: NativeFutexWaiter): void {
    this.#busy.delete(waiter);
    if (this.#closed || this.#idle.length >= MAX_IDLE_WAITERS) waiter.close();
    else this.#idle.push(waiter);
  }
}

function settle(
  result: FutexWaitResult,
  signal: AbortSignal | undefined,
  resolve: (result: ParkResult) => void,
  reject: (error: Error) => void,
): void {
  if (result !== 'cancelled') resolve(result);
  else if (signal?.aborted) reject(abortError(signal));
  else reject(new NativeSidecarError('ERR_INVALID_STATE', 'The parker was closed while a wait was pending.'));
}

function abortError(signal: AbortSignal): NativeSidecarError {
  return new NativeSidecarError('ERR_ABORTED', 'The wait was aborted by its AbortSignal.', { cause: signal.reason });
}

