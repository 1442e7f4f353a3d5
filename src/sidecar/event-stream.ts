/**
 * Async iteration over a Sidecar's events: each iterator made by `sidecar.events()` gets every event emitted after
 * it was made, as a copy it owns, in order, and finishes when the sidecar has stopped. An iterator buffers the events
 * it has not consumed yet (unbounded: consume at the pace of the sidecar, or stop iterating with `break`).
 *
 * Threading: the JavaScript thread of the Sidecar.
 */
export interface SidecarEvent {
  id: number;
  data: Uint8Array;
}

class Subscriber {
  readonly queue: SidecarEvent[] = [];
  waiting: ((result: IteratorResult<SidecarEvent, undefined>) => void) | undefined = undefined;
  done = false;
}

export class EventStreams {
  private readonly subscribers = new Set<Subscriber>();
  private ended = false;

  get active(): boolean {
    return this.subscribers.size > 0;
  }

  /** Delivers one event (already copied) to every iterator. */
  push(event: SidecarEvent): void {
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
  }

  iterator(): AsyncIterableIterator<SidecarEvent> {
    const s = new Subscriber();
    if (this.ended) s.done = true;
    else this.subscribers.add(s);
    const finish = (): IteratorResult<SidecarEvent, undefined> => {
      s.done = true;
      s.queue.length = 0;
      this.subscribers.delete(s);
      return { value: undefined, done: true };
    };
    const it: AsyncIterableIterator<SidecarEvent> = {
      next: (): Promise<IteratorResult<SidecarEvent, undefined>> => {
        const event = s.queue.shift();
        if (event !== undefined) return Promise.resolve({ value: event, done: false });
        if (s.done) return Promise.resolve(finish());
        return new Promise((resolve) => {
          s.waiting = resolve;
        });
      },
      return: (): Promise<IteratorResult<SidecarEvent, undefined>> => Promise.resolve(finish()),
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }
}
