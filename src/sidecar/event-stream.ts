/**
 * Async iteration over a Sidecar's events: each iterator made by `sidecar.events()` gets every event emitted after
 * it was made, as a copy it owns, in order, and finishes when the sidecar has stopped. An iterator buffers the events
 * it has not consumed yet; once one holds `highWaterMark` or more, `full` turns true and the Sidecar's event pump waits
 * for `whenRoom()` before it reads more (backpressure: the plugin then blocks in emit_event when the event ring fills,
 * nothing is dropped). A buffer may overshoot by one drain batch of the pump. Every pending next() settles: with an
 * event, or done at return() or at the end.
 *
 * Threading: the JavaScript thread of the Sidecar.
 */
export interface SidecarEvent {
  id: number;
  data: Uint8Array;
}

class Subscriber<E> {
  readonly queue: E[] = [];
  waiting: ((result: IteratorResult<E, undefined>) => void) | undefined = undefined;
  done = false;
}

/** Events an iterator may hold unconsumed before the pump waits (by default). */
export const DEFAULT_STREAM_HIGH_WATER_MARK = 1024;

/** `E`: the event type (a SidecarPool's events also name their member). */
export class EventStreams<E extends SidecarEvent = SidecarEvent> {
  private readonly subscribers = new Set<Subscriber<E>>();
  private ended = false;
  private roomWaiters: (() => void)[] = [];

  constructor(private readonly highWaterMark = DEFAULT_STREAM_HIGH_WATER_MARK) {}

  /** Some iterator holds highWaterMark or more unconsumed events. */
  get full(): boolean {
    for (const s of this.subscribers) if (s.queue.length >= this.highWaterMark) return true;
    return false;
  }

  /** Resolves once no iterator is full (at once when none is), or when the streams end. Never rejects. */
  whenRoom(): Promise<void> {
    if (!this.full || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private checkRoom(): void {
    if (this.roomWaiters.length === 0 || (this.full && !this.ended)) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }

  get active(): boolean {
    return this.subscribers.size > 0;
  }

  /** Delivers one event (already copied) to every iterator. */
  push(event: E): void {
    for (const s of this.subscribers) {
      if (s.waiting !== undefined) {
        const resolve = s.waiting;
        s.waiting = undefined;
        resolve({ value: event, done: false });
      } else {
        s.queue.push(event);
      }
    }
  }

  /** Finishes every iterator once its buffered events are consumed; later iterators finish at once. */
  end(): void {
    this.ended = true;
    for (const s of this.subscribers) {
      s.done = true;
      if (s.waiting !== undefined) {
        const resolve = s.waiting;
        s.waiting = undefined;
        this.subscribers.delete(s);
        resolve({ value: undefined, done: true });
      }
    }
    this.checkRoom();
  }

  iterator(): AsyncIterableIterator<E> {
    const s = new Subscriber<E>();
    if (this.ended) s.done = true;
    else this.subscribers.add(s);
    const finish = (): IteratorResult<E, undefined> => {
      s.done = true;
      s.queue.length = 0;
      this.subscribers.delete(s);
      this.checkRoom();
      return { value: undefined, done: true };
    };
    const it: AsyncIterableIterator<E> = {
      next: (): Promise<IteratorResult<E, undefined>> => {
        const event = s.queue.shift();
        if (event !== undefined) {
          if (s.queue.length === this.highWaterMark - 1) this.checkRoom();
          return Promise.resolve({ value: event, done: false });
        }
        if (s.done) return Promise.resolve(finish());
        return new Promise((resolve) => {
          s.waiting = resolve;
        });
      },
      // A next() still waiting when the iterator is returned settles as done (for await … break, or return() called
      // by hand while another task awaits next()): no promise of an iterator is left pending.
      return: (): Promise<IteratorResult<E, undefined>> => {
        const waiting = s.waiting;
        s.waiting = undefined;
        const result = finish();
        waiting?.(result);
        return Promise.resolve(result);
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }
}
