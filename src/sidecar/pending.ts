/**
 * Requests waiting for their reply, keyed by request id. Ids are 1 … MAX_REQUEST_ID (2^31 − 2: bit 31 of a command's
 * request word is the sidecar's claim bit, wire-format §8.3), handed out in increasing order, wrapping to 1 and
 * skipping ids still pending: an id is not reused until 2^31 requests later, so a late reply to a request that already
 * failed (a crash, a timeout) cannot be mistaken for the reply to a newer one.
 *
 * Each request also remembers where its command is: `ordinal` ≥ 0 is its place in the current command ring (the
 * CommandJournal's count when it was written), -1 while it waits in the backlog. The Sidecar keeps it current across
 * restarts (recovery renumbers the commands it carries over).
 *
 * Storage: ids are consecutive, so a request normally lives in slot `id % SLOTS` of an array (no hashing on the
 * request/reply path); a request whose slot is still held by an older one (more than SLOTS in flight, or a very old
 * straggler) goes to an overflow map. A lookup checks the slot's id, then the map.
 *
 * Threading: the JavaScript thread of the Sidecar. Settling runs the caller's continuations as microtasks.
 */
import { SidecarError } from '../errors.js';
import { MAX_REQUEST_ID } from './layout.js';
import { STAT_PENDING_REQUESTS } from './host-stats.js';

/** Slots of the direct-mapped table; a power of two, larger than the usual number of requests in flight. */
const SLOTS = 4096;
const SLOT_MASK = SLOTS - 1;

export class PendingRequest {
  timer: NodeJS.Timeout | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  resolve!: (value: Uint8Array) => void;
  reject!: (error: unknown) => void;
  constructor(
    readonly id: number,
    /** Order of registration, so that failAll() rejects in the order the requests were made. */
    readonly seq: number,
    /** Place of the command in the current command ring, or -1 while it is in the backlog. */
    public ordinal: number,
  ) {}
}

/**
 * Called when a request's timeout or signal fires, before it rejects: tries to withdraw its command (so that it never
 * starts) and returns the sentence that tells the caller which happened.
 */
export type WithdrawFn = (entry: PendingRequest) => string;

export class PendingRequests {
  private readonly slots: (PendingRequest | undefined)[] = new Array<PendingRequest | undefined>(SLOTS).fill(undefined);
  private readonly overflow = new Map<number, PendingRequest>();
  private count = 0;
  private seq = 0;
  private lastId = 0;
  /** The host statistics words (host-stats.ts) whose pending_requests gauge mirrors size, or undefined. */
  private gauge: Uint32Array | undefined = undefined;

  constructor(private readonly withdraw: WithdrawFn) {}

  /**
   * From now on, stores size into `stats`' pending_requests word (wire-format §8.4) now and at every failure;
   * undefined stops it. The Sidecar calls it with each channel's words (a restart brings new ones), and stores the
   * gauge itself per publication and per drain (not per request: add() and resolve() are the hot path).
   */
  mirrorTo(stats: Uint32Array | undefined): void {
    this.gauge = stats;
    if (stats !== undefined) stats[STAT_PENDING_REQUESTS] = this.count;
  }

  get size(): number {
    return this.count;
  }

  /** The id the next add() must use: the next id after the last one handed out that is not pending. */
  nextId(): number {
    let id = this.lastId;
    do id = id >= MAX_REQUEST_ID ? 1 : id + 1;
    while (this.has(id));
    return id;
  }

  /**
   * Registers request `id` (from nextId(), with its command already written or queued) and returns its promise.
   * `timeout` in ms (undefined: none). Never throws: the caller validated the arguments.
   */
  add(id: number, ordinal: number, timeout: number | undefined, signal: AbortSignal | undefined): Promise<Uint8Array> {
    this.lastId = id;
    const entry = new PendingRequest(id, this.seq++, ordinal);
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    if (timeout !== undefined) {
      entry.timer = setTimeout(() => {
        if (this.get(id) !== entry) return;
        const what = this.withdraw(entry);
        this.fail(id, new SidecarError('ERR_TIMEOUT', `The request ${id} got no reply within its timeout of ${timeout} ms; ${what}`));
      }, timeout);
    }
    if (signal !== undefined) {
      entry.signal = signal;
      entry.onAbort = () => {
        if (this.get(id) !== entry) return;
        const what = this.withdraw(entry);
        this.fail(id, new SidecarError('ERR_ABORTED', `The request ${id} was aborted by its signal; ${what}`, { cause: signal.reason }));
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    const slot = id & SLOT_MASK;
    if (this.slots[slot] === undefined) this.slots[slot] = entry;
    else this.overflow.set(id, entry);
    this.count++;
    return promise;
  }

  /** The pending request `id`, or undefined. */
  get(id: number): PendingRequest | undefined {
    const entry = this.slots[id & SLOT_MASK];
    if (entry !== undefined && entry.id === id) return entry;
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  /** Resolves request `id` with `value`; false when no such request is pending (late or duplicate reply). */
  resolve(id: number, value: Uint8Array): boolean {
    const entry = this.take(id);
    if (entry === undefined) return false;
    entry.resolve(value);
    return true;
  }

  /**
   * Rejects request `id`; false when it is not pending. Stores the pending gauge (mirrorTo): failures — timeouts,
   * aborts, crashes — happen outside the publications and drains at which the Sidecar stores it.
   */
  fail(id: number, error: unknown): boolean {
    const entry = this.take(id);
    if (entry === undefined) return false;
    if (this.gauge !== undefined) this.gauge[STAT_PENDING_REQUESTS] = this.count; // display-only plain store (§8.4)
    entry.reject(error);
    return true;
  }

  /** Every pending request, in the order they were made. */
  all(): PendingRequest[] {
    const entries: PendingRequest[] = [...this.overflow.values()];
    for (const entry of this.slots) if (entry !== undefined) entries.push(entry);
    return entries.sort((a, b) => a.seq - b.seq);
  }

  /** Rejects every pending request, in the order they were made, with the error `make()` returns (one per request). */
  failAll(make: (id: number) => unknown): void {
    for (const entry of this.all()) this.fail(entry.id, make(entry.id));
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
