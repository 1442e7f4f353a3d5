/**
 * Requests waiting for their reply, keyed by request id. Ids are u32, never 0 (0 means "no reply wanted"), and
 * handed out in increasing order modulo 2^32, skipping ids still pending: an id is not reused until 2^32 requests
 * later, so a late reply to a request that already failed (a crash, a timeout) cannot be mistaken for the reply to
 * a newer one.
 *
 * Storage: ids are consecutive, so a request normally lives in slot `id % SLOTS` of an array (no hashing on the
 * request/reply path); a request whose slot is still held by an older one (more than SLOTS in flight, or a very old
 * straggler) goes to an overflow map. A lookup checks the slot's id, then the map.
 *
 * Threading: the JavaScript thread of the Sidecar. Settling runs the caller's continuations as microtasks.
 */
import { SidecarError } from '../errors.js';

/** Slots of the direct-mapped table; a power of two, larger than the usual number of requests in flight. */
const SLOTS = 4096;
const SLOT_MASK = SLOTS - 1;

class PendingRequest {
  timer: NodeJS.Timeout | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  resolve!: (value: Uint8Array) => void;
  reject!: (error: unknown) => void;
  constructor(
    readonly id: number,
    /** Order of registration, so that failAll() rejects in the order the requests were made. */
    readonly seq: number,
  ) {}
}

export class PendingRequests {
  private readonly slots: (PendingRequest | undefined)[] = new Array<PendingRequest | undefined>(SLOTS).fill(undefined);
  private readonly overflow = new Map<number, PendingRequest>();
  private count = 0;
  private seq = 0;
  /** The id of the request add() registered last. */
  lastId = 0;

  get size(): number {
    return this.count;
  }

  /**
   * Registers a new request and returns its promise; its id is `lastId` right after the call. `timeout` in ms
   * (undefined: none).
   */
  add(timeout: number | undefined, signal: AbortSignal | undefined): Promise<Uint8Array> {
    let id = this.lastId;
    do id = (id + 1) >>> 0 || 1;
    while (this.has(id));
    this.lastId = id;
    const entry = new PendingRequest(id, this.seq++);
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    if (timeout !== undefined) {
      entry.timer = setTimeout(() => {
        this.fail(id, new SidecarError('ERR_TIMEOUT', `The request ${id} got no reply within its timeout of ${timeout} ms.`));
      }, timeout);
    }
    if (signal !== undefined) {
      entry.signal = signal;
      entry.onAbort = () => {
        this.fail(id, new SidecarError('ERR_ABORTED', `The request ${id} was aborted by its signal.`, { cause: signal.reason }));
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    const slot = id & SLOT_MASK;
    if (this.slots[slot] === undefined) this.slots[slot] = entry;
    else this.overflow.set(id, entry);
    this.count++;
    return promise;
  }

  /** Resolves request `id` with `value`; false when no such request is pending (late or duplicate reply). */
  resolve(id: number, value: Uint8Array): boolean {
    const entry = this.take(id);
    if (entry === undefined) return false;
    entry.resolve(value);
    return true;
  }

  /** Rejects request `id`; false when it is not pending. */
  fail(id: number, error: unknown): boolean {
    const entry = this.take(id);
    if (entry === undefined) return false;
    entry.reject(error);
    return true;
  }

  /** Rejects every pending request, in the order they were made, with the error `make()` returns (one per request). */
  failAll(make: (id: number) => unknown): void {
    const entries: PendingRequest[] = [...this.overflow.values()];
    for (const entry of this.slots) if (entry !== undefined) entries.push(entry);
    entries.sort((a, b) => a.seq - b.seq);
    for (const entry of entries) this.fail(entry.id, make(entry.id));
  }

  private has(id: number): boolean {
    return this.slots[id & SLOT_MASK]?.id === id || (this.overflow.size > 0 && this.overflow.has(id));
  }

  private take(id: number): PendingRequest | undefined {
    const slot = id & SLOT_MASK;
    let entry = this.slots[slot];
    if (entry !== undefined && entry.id === id) {
      this.slots[slot] = undefined;
    } else {
      if (this.overflow.size === 0) return undefined;
      entry = this.overflow.get(id);
      if (entry === undefined) return undefined;
      this.overflow.delete(id);
    }
    this.count--;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    return entry;
  }
}
