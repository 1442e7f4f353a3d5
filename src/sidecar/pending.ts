/**
 * Requests waiting for their reply, keyed by request id. Ids are u32, never 0 (0 means "no reply wanted"), and
 * handed out in increasing order modulo 2^32, skipping ids still pending: an id is not reused until 2^32 requests
 * later, so a late reply to a request that already failed (a crash, a timeout) cannot be mistaken for the reply to
 * a newer one.
 *
 * Threading: the JavaScript thread of the Sidecar. Settling runs the caller's continuations as microtasks.
 */
import { SidecarError } from '../errors.js';

class PendingRequest {
  timer: NodeJS.Timeout | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  constructor(
    readonly resolve: (value: Uint8Array) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

export class PendingRequests {
  private readonly map = new Map<number, PendingRequest>();
  private lastId = 0;

  get size(): number {
    return this.map.size;
  }

  /** Registers a new request and returns its id and promise. `timeout` in ms (undefined: none). */
  add(timeout: number | undefined, signal: AbortSignal | undefined): { id: number; promise: Promise<Uint8Array> } {
    let id = this.lastId;
    do id = (id + 1) >>> 0 || 1;
    while (this.map.has(id));
    this.lastId = id;
    let entry!: PendingRequest;
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      entry = new PendingRequest(resolve, reject);
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
    this.map.set(id, entry);
    return { id, promise };
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

  /** Rejects every pending request with the error `make()` returns (one error object per request). */
  failAll(make: (id: number) => unknown): void {
    const ids = [...this.map.keys()];
    for (const id of ids) this.fail(id, make(id));
  }

  private take(id: number): PendingRequest | undefined {
    const entry = this.map.get(id);
    if (entry === undefined) return undefined;
    this.map.delete(id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    return entry;
  }
}
