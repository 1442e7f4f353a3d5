/**
 * TEST-ONLY Parker that needs no native addon: a wait polls the futex word with timers until it differs from
 * `expected`, and wake() only counts (the waker always changes the word before waking, §5.1, so polling sees it).
 * It works on ArrayBuffer and SharedArrayBuffer views, on one thread or across workers, but costs up to `pollMs` of
 * latency per wake-up. Never use it outside tests.
 */
import type { Parker, ParkResult } from '../../src/ring/parker.js';

export class PollingParker implements Parker {
  /** Number of wait() calls. */
  waits = 0;
  /** Number of wake() calls. */
  wakes = 0;
  /** Waits not yet settled. */
  pending = 0;
  private closed = false;
  private readonly cancels = new Set<() => void>();

  constructor(private readonly pollMs = 1) {}

  wake(_view: Int32Array, _index: number): void {
    this.wakes++;
  }

  wait(view: Int32Array, index: number, expected: number, timeoutMs: number, signal?: AbortSignal): Promise<ParkResult> {
    this.waits++;
    if (this.closed) return Promise.reject(new Error('PollingParker was closed.'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (Atomics.load(view, index) !== expected) return Promise.resolve('not-equal');
    this.pending++;
    return new Promise<ParkResult>((resolve, reject) => {
      const start = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const finish = (settle: () => void): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.cancels.delete(cancel);
        this.pending--;
        settle();
      };
      const onAbort = (): void => finish(() => reject(signal?.reason));
      const cancel = (): void => finish(() => reject(new Error('PollingParker was closed.')));
      const tick = (): void => {
        if (Atomics.load(view, index) !== expected) finish(() => resolve('ok'));
        else if (timeoutMs >= 0 && performance.now() - start >= timeoutMs) finish(() => resolve('timed-out'));
        else timer = setTimeout(tick, this.pollMs);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.cancels.add(cancel);
      timer = setTimeout(tick, this.pollMs);
    });
  }

  close(): void {
    this.closed = true;
    for (const cancel of [...this.cancels]) cancel();
  }
}
