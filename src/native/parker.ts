/**
 * The native Parker: lets the JavaScript thread park on a futex word of shared memory (wire-format §5.1) without
 * blocking its event loop, and be woken by native threads or other processes. Each pending wait uses one native
 * FutexWaiter thread; idle waiters are kept in a small pool and reused.
 */
import { NativeSidecarError, fromNative } from '../errors.js';
import type { ParkResult, Parker } from '../ring/parker.js';
import { loadAddon, type NativeFutexWaiter } from './addon.js';
import { waitArgsError } from './wait-args.js';

/** Idle waiters kept for reuse; each owns a parked native thread. More concurrent waits create more, then close them. */
const MAX_IDLE_WAITERS = 4;

export class NativeParker implements Parker {
  readonly #idle: NativeFutexWaiter[] = [];
  readonly #busy = new Set<NativeFutexWaiter>();
  #closed = false;

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
   * 32-bit integer, `timeoutMs` a number, `signal` an AbortSignal or undefined), and ERR_INVALID_STATE after close().
   * The view (and its buffer) is kept alive until the promise settles; when the view is memory of a SharedRegion, the
   * native waiter pins the mapping while it sleeps, so a region closed meanwhile (which aborts the waits of its Rings
   * first) is unmapped only once the waiter has left the kernel.
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
          if (result !== 'cancelled') resolve(result);
          else if (signal?.aborted) reject(abortError(signal));
          else reject(new NativeSidecarError('ERR_INVALID_STATE', 'The parker was closed while a wait was pending.'));
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

  /**
   * Stops every waiter thread. Pending waits reject soon after with ERR_INVALID_STATE, and so do later waits.
   * Idempotent. JavaScript thread.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
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

function abortError(signal: AbortSignal): NativeSidecarError {
  return new NativeSidecarError('ERR_ABORTED', 'The wait was aborted by its AbortSignal.', { cause: signal.reason });
}

