/**
 * The eventfd Parker (opt-in): the JavaScript thread sleeps in its own event loop, watching an eventfd that the
 * waking side writes (docs/wire-format.md §5.1.1). A wake costs two sleeping wake-ups per direction — the peer's
 * and the event loop's — instead of three through NativeParker's waiter-thread fallback. (NativeParker's io_uring
 * futex waits, its default where available, also wake the event loop directly, and from any FUTEX_WAKE.)
 *
 * Only producers (and consumers, for space) that were given this parker's {@link EventfdParker.fd} write the eventfd:
 * a C handle after `ns_ring_set_consumer_wake_fd()` / `ns_ring_set_producer_wake_fd()`, the `ring_peer` test program
 * with `--wake-fd`, a RingPeerThread with `wakeFd`. A waker that only calls FUTEX_WAKE (a JavaScript Ring using
 * another parker, a peer not configured with the fd) does not wake it; the wait then ends only on its timeout. Use
 * NativeParker (the default) for those rings.
 */
import { NativeSidecarError, fromNative } from '../errors.js';
import type { ParkResult, Parker } from '../ring/parker.js';
import { loadAddon, type NativeEventfdWaiter } from './addon.js';
import { waitArgsError } from './wait-args.js';

/** Largest delay setTimeout honours (2^31 − 1 ms); longer timeouts wait without a limit. */
const MAX_TIMER_MS = 2147483647;

interface PendingWait {
  resolve(result: ParkResult): void;
  reject(error: Error): void;
  /** performance.now() at which the wait times out; Infinity for none. */
  deadline: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class EventfdParker implements Parker {
  readonly #native: NativeEventfdWaiter;
  readonly #pending = new Set<PendingWait>();
  #closed = false;
  #failed = false;
  /**
   * One timer for every pending wait, armed for the earliest deadline (or earlier) and left armed when waits end:
   * a wait that ends before its timeout — the usual case — then costs no timer of its own. Unreferenced: the
   * native poll keeps the process alive while a wait is pending.
   */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;

  /**
   * Creates the eventfd and starts watching it on this thread's event loop (unreferenced: an idle parker does not
   * keep the process alive). JavaScript thread; every method must be called on it. Throws ERR_ADDON_MISSING when the
   * addon is not built, ERR_SYSTEM when the eventfd cannot be created or watched.
   */
  constructor() {
    try {
      this.#native = new (loadAddon().EventfdWaiter)((count) => this.#onReadable(count));
    } catch (error) {
      throw fromNative(NativeSidecarError, error);
    }
  }

  /**
   * The eventfd (close-on-exec, non-blocking); -1 after close(). Hand it to the waking side: a child process inherits
   * it through `spawn`'s `stdio` array; a native thread may use it directly. The parker owns it: a producer that
   * may outlive close() must use its own duplicate.
   */
  get fd(): number {
    return this.#native.fd;
  }

  /**
   * FUTEX_WAKE (shared) of every waiter on word `index` of `view`, in any thread or process, exactly like
   * NativeParker.wake: this side waking a peer that sleeps in futex_wait. It does not write this parker's own
   * eventfd (use {@link signal} for that). Any JavaScript thread; never blocks. ERR_INVALID_ARG for a bad view or index.
   */
  wake(view: Int32Array, index: number): void {
    try {
      loadAddon().futexWake(view, index);
    } catch (error) {
      throw fromNative(NativeSidecarError, error);
    }
  }

  /**
   * Adds 1 to this parker's eventfd, which resolves every pending wait with 'ok' on a later turn of the event loop
   * (or the next wait that starts before then). For a waker in this thread. ERR_INVALID_STATE after close().
   */
  signal(): void {
    if (this.#closed) throw new NativeSidecarError('ERR_INVALID_STATE', 'The parker was closed; it cannot be signalled.');
    try {
      this.#native.signal();
    } catch (error) {
      throw fromNative(NativeSidecarError, error);
    }
  }

  /**
   * Resolves 'not-equal' at once when word `index` of `view` does not hold `expected` (so a wake that changed the word
   * between the caller's re-check and this call is not lost), 'ok' the next time the eventfd is readable — the wake
   * may be for another ring sharing this parker, or have been written before this wait started: the caller re-checks
   * its condition anyway — and 'timed-out' after `timeoutMs` (negative, Infinity or above 2^31 − 1: no limit).
   * Rejects ERR_ABORTED when `signal` fires, ERR_INVALID_ARG naming the argument for bad arguments (checked before
   * anything starts, as NativeParker.wait does, `signal` included), ERR_INVALID_STATE after close() (also
   * for waits pending at close()), ERR_SYSTEM if the event loop reported an error on the eventfd. Any number of waits
   * may be pending; one readable eventfd resolves them all. JavaScript thread that created the parker; the promise
   * settles on its event loop. A pending wait keeps the process alive.
   */
  wait(view: Int32Array, index: number, expected: number, timeoutMs: number, signal?: AbortSignal): Promise<ParkResult> {
    if (this.#closed) {
      return Promise.reject(new NativeSidecarError('ERR_INVALID_STATE', 'The parker was closed; no more waits can start on it.'));
    }
    if (this.#failed) return Promise.reject(pollFailed());
    const bad = waitArgsError(view, index, expected, timeoutMs, signal);
    if (bad !== undefined) return Promise.reject(bad);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    // seq_cst load (Atomics): the caller's full fence (§5.1 step 3) precedes it; a waker increments the word before it
    // writes the eventfd, so either this load sees the increment or the eventfd write comes after this wait is pending.
    if (Atomics.load(view, index) !== (expected | 0)) return Promise.resolve('not-equal');
    return new Promise<ParkResult>((resolve, reject) => {
      const finite = timeoutMs >= 0 && timeoutMs <= MAX_TIMER_MS;
      const wait: PendingWait = { resolve, reject, deadline: finite ? performance.now() + timeoutMs : Infinity, signal, onAbort: undefined };
      if (wait.deadline < this.#timerAt) this.#armTimer(wait.deadline);
      if (signal !== undefined) {
        wait.onAbort = () => this.#settle(wait)?.reject(abortError(signal));
        signal.addEventListener('abort', wait.onAbort, { once: true });
      }
      if (this.#pending.size === 0) this.#native.ref();
      this.#pending.add(wait);
    });
  }

  /**
   * Stops watching and closes the eventfd. Pending waits reject with ERR_INVALID_STATE, and so do later waits.
   * Idempotent. JavaScript thread.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#rejectAll(new NativeSidecarError('ERR_INVALID_STATE', 'The parker was closed while a wait was pending.'));
  }

  /** Removes `wait` from the pending set (returns it), or undefined when it was already settled. */
  #settle(wait: PendingWait): PendingWait | undefined {
    if (!this.#pending.delete(wait)) return undefined;
    if (wait.onAbort !== undefined) wait.signal?.removeEventListener('abort', wait.onAbort);
    if (this.#pending.size === 0 && !this.#closed) this.#native.unref();
    return wait;
  }

  /** (Re)arms the shared timer to fire at `at` (performance.now() time). */
  #armTimer(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, Math.ceil(at - performance.now())));
    this.#timer.unref();
  }

  /** Resolves the waits whose deadline has passed and re-arms for the earliest remaining one. */
  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    // Timers count whole milliseconds on their own clock: treat a deadline within 1 ms as reached, or it would be
    // re-armed with a delay of 0 and spin.
    const now = performance.now() + 1;
    let next = Infinity;
    for (const wait of [...this.#pending]) {
      if (wait.deadline <= now) this.#settle(wait)?.resolve('timed-out');
      else if (wait.deadline < next) next = wait.deadline;
    }
    if (next !== Infinity && !this.#closed) this.#armTimer(next);
  }

  #rejectAll(error: Error): void {
    for (const wait of [...this.#pending]) this.#settle(wait)?.reject(error);
  }

  /** Event loop: the eventfd was readable and has been drained (count > 0), or polling failed (count < 0). */
  #onReadable(count: number): void {
    if (count < 0) {
      this.#failed = true;
      this.#rejectAll(pollFailed());
      return;
    }
    for (const wait of [...this.#pending]) this.#settle(wait)?.resolve('ok');
  }
}

function abortError(signal: AbortSignal): NativeSidecarError {
  return new NativeSidecarError('ERR_ABORTED', 'The wait was aborted by its AbortSignal.', { cause: signal.reason });
}

function pollFailed(): NativeSidecarError {
  return new NativeSidecarError('ERR_SYSTEM', 'The event loop reported an error while watching the parker\'s eventfd; create a new parker.');
}
