/**
 * One request or send of a SidecarPool, and the queues it waits in before a member takes it.
 *
 * A task is 'queued' (in the pool's queue or its key's slot queue), 'running' (dispatched to a member: in that
 * member's command ring or running in its plugin) or 'done' (settled for the caller). A task cancelled while queued is
 * marked done and skipped when the queue reaches it (lazy removal; the queue compacts when skipped entries are the
 * majority, so its memory stays proportional to the live tasks).
 *
 * Threading: the JavaScript thread of the pool.
 */
import type { MemberSlot } from './slot.js';

export type TaskState = 'queued' | 'running' | 'done';

export class PoolTask {
  state: TaskState = 'queued';
  /** The queue holding it while queued. */
  queue: TaskQueue | undefined = undefined;
  /** The slot it was dispatched to while running. */
  slot: MemberSlot | undefined = undefined;
  /** Its request id on that member. */
  memberId = 0;
  /** Bumped at each dispatch and when the pool takes it back from a member: a settlement of an older dispatch is stale. */
  dispatches = 0;
  readonly enqueuedAt: number;
  dispatchedAt = 0;
  timer: NodeJS.Timeout | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    /** A request waits for a reply; a send is done once a member accepted it. */
    readonly kind: 'request' | 'send',
    /** The command bytes (the pool's own copy once queued). */
    public bytes: Uint8Array,
    readonly type: number,
    /** The slot its key routes it to, or -1 (any member). */
    readonly keySlot: number,
    readonly resolve: (value: Uint8Array) => void,
    readonly reject: (error: unknown) => void,
    now: number,
  ) {
    this.enqueuedAt = now;
  }
}

/** A FIFO of tasks with removal from the middle (lazy) and insertion at the front (re-routed tasks). */
export class TaskQueue {
  #items: (PoolTask | undefined)[] = [];
  #head = 0;
  #live = 0;
  #bytes = 0;

  /** Tasks waiting (cancelled ones not counted). */
  get size(): number {
    return this.#live;
  }

  /** Payload bytes of the waiting tasks. */
  get bytes(): number {
    return this.#bytes;
  }

  push(task: PoolTask): void {
    task.queue = this;
    task.state = 'queued';
    this.#items.push(task);
    this.#live++;
    this.#bytes += task.bytes.byteLength;
  }

  /** Puts `tasks` at the front, in their order. */
  unshiftAll(tasks: readonly PoolTask[]): void {
    if (tasks.length === 0) return;
    for (const task of tasks) {
      task.queue = this;
      task.state = 'queued';
      this.#live++;
      this.#bytes += task.bytes.byteLength;
    }
    this.#items = [...tasks, ...this.#items.slice(this.#head)];
    this.#head = 0;
  }

  /** The oldest waiting task, removed; undefined when none. */
  shift(): PoolTask | undefined {
    while (this.#head < this.#items.length) {
      const task = this.#items[this.#head];
      this.#items[this.#head++] = undefined;
      if (task !== undefined && task.queue === this && task.state === 'queued') {
        this.#taken(task);
        this.#trim();
        return task;
      }
    }
    this.#items = [];
    this.#head = 0;
    return undefined;
  }

  /** Removes a waiting task (it stays in the array until shift() or a compaction passes it). */
  remove(task: PoolTask): void {
    if (task.queue !== this) return;
    this.#taken(task);
    // Compact when skipped entries are most of the array: memory stays proportional to the live tasks.
    const length = this.#items.length - this.#head;
    if (length > 1024 && this.#live * 2 < length) {
      this.#items = this.#items.slice(this.#head).filter((t) => t !== undefined && t.queue === this && t.state === 'queued');
      this.#head = 0;
    }
  }

  /** Every waiting task, oldest first, removed. */
  drain(): PoolTask[] {
    const out: PoolTask[] = [];
    for (let t = this.shift(); t !== undefined; t = this.shift()) out.push(t);
    return out;
  }

  #taken(task: PoolTask): void {
    task.queue = undefined;
    this.#live--;
    this.#bytes -= task.bytes.byteLength;
  }

  #trim(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
