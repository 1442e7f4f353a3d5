/**
 * SidecarPool: many Sidecars behind the API of one (docs/pool.md). Requests wait in the pool's queue until a member
 * has room (fewer than `concurrency` in flight), go to the least busy member or to their key's member, and are under
 * that member's delivery contract from then on (docs/reliability.md). Cancelling a request that is running stops the
 * work: the member's process is killed and restarted at once, the requests it held are taken back and re-routed.
 *
 * Threading: a pool lives on the JavaScript thread that started it; every method must be called there, and every
 * event and promise settles there.
 */
import { EventEmitter } from 'node:events';
import { SidecarError } from '../errors.js';
import { badArg, commandType, knownKeys, optionsObject, requestSignal, requestTimeout, stopArgs, toBytes } from '../sidecar/args.js';
import { EventStreams, type SidecarEvent } from '../sidecar/event-stream.js';
import { MAX_TIMEOUT_MS } from '../sidecar/options.js';
import type { SidecarExit, SidecarPoison } from '../sidecar/sidecar.js';
import { localMembers, type MemberFactory, type MemberHooks, type MemberState, type PoolMember } from './member.js';
import { DurationHistogram, initMetrics, type Percentiles } from './metrics.js';
import { resolvePoolOptions, type ResolvedPoolOptions, type SidecarPoolOptions } from './options.js';
import { Quarantine } from './quarantine.js';
import { leastBusy, type RequestKey, type Router } from './router.js';
import { MemberSlot } from './slot.js';
import { PoolTask, TaskQueue } from './task.js';

/** An event of a pool's events() iterator: a member's event and the slot of that member. */
export interface PoolEvent extends SidecarEvent {
  member: number;
}

export interface PoolRequestOptions {
  /** Command type passed to the plugin's process (0 … 2^32 − 1, default 0). */
  type?: number;
  /** Milliseconds from this call (1 … 2^31 − 1) before the request rejects with ERR_TIMEOUT, wherever it is. */
  timeout?: number;
  /** An absolute time (Date.now() scale) at which the request rejects with ERR_TIMEOUT; with `timeout`, the earlier. */
  deadlineMs?: number;
  /** Rejects the request with ERR_ABORTED when it aborts. */
  signal?: AbortSignal;
  /** Requests and sends with the same key (a string, or a finite number) go to the same member, in order. */
  key?: RequestKey;
}

export interface PoolSendOptions {
  type?: number;
  key?: RequestKey;
}

export interface PoolBroadcastOptions {
  type?: number;
}

export interface PoolStopOptions {
  /** Milliseconds (1 … 2^31 − 1) for the whole stop: draining the queue, then stopping the members. Default the members' stopTimeoutMs. */
  timeout?: number;
  /** true (default): queued requests and sends are run first. false: they reject with ERR_SIDECAR_STOPPED. */
  drain?: boolean;
}

/** The result of stop(). */
export interface PoolExit {
  reason: 'stopped';
  /**
   * Commands accepted and never processed: queued ones rejected by stop({ drain: false }) or its timeout, and the
   * `dropped` of every member's final exit (members stopped here, and members that crashed for good before).
   */
  dropped: number;
  /** The final exit of every member that was running at the stop. */
  members: SidecarExit[];
}

/** The argument of the 'member' event: a member started, came back, was replaced or stopped. */
export interface MemberChange {
  member: number;
  kind: string;
  pid: number;
  what: 'started' | 'restarted' | 'replaced' | 'stopped' | 'failed';
  /**
   * 'start': SidecarPool.start(); 'scale': load needed it (or its key did); 'cancel': the process was killed to stop a
   * cancelled running request; 'crash': it crashed and restarted under its restart policy; 'budget': it crashed for
   * good ('replaced') and the fresh member that takes the slot ('started', or 'failed'); 'idle': stopped after
   * idleTimeoutMs; 'stop': pool.stop().
   */
  cause: 'start' | 'scale' | 'cancel' | 'crash' | 'budget' | 'idle' | 'stop';
  /** The exit that caused it: of the run before a restart ('restarted'), of the member that ended ('replaced', 'stopped'). */
  exit?: SidecarExit;
  /** Why a member could not start ('failed'). */
  error?: SidecarError;
}

export interface PoolPoison extends SidecarPoison {
  member: number;
}

export interface MemberStats {
  member: number;
  kind: string;
  pid: number;
  state: MemberState;
  inFlight: number;
  /** Tasks waiting for this member by key. */
  queued: number;
  completed: number;
  failed: number;
  /** From request() to dispatch, of the requests this member took. */
  waitTime: Percentiles;
  /** From dispatch to settlement on this member. */
  runTime: Percentiles;
  /** Busy time (≥ 1 request in flight) over the member's lifetime, 0 … 1. */
  utilization: number;
  restarts: number;
  cancelKills: number;
  poisoned: number;
}

export interface PoolStats {
  members: MemberStats[];
  /** Members running or starting. */
  size: number;
  completed: number;
  failed: number;
  inFlight: number;
  queued: number;
  /** From request() to dispatch onto a member. */
  waitTime: Percentiles;
  /** From dispatch to the member's reply or failure. */
  runTime: Percentiles;
  /** Busy member time over member time since the pool started, 0 … 1. */
  utilization: number;
  /** Crash restarts of members (their restart policy). */
  restarts: number;
  /** Members killed and restarted to stop a cancelled running request. */
  cancelKills: number;
  /** Members that crashed for good (restart budget used up) and were replaced. */
  replacements: number;
  /** Commands quarantined after killing a member twice. */
  poisoned: number;
  /** Requests and sends refused at once because they match a quarantined command. */
  quarantined: number;
  elapsedMs: number;
}

/**
 * The events of a SidecarPool and their listeners' arguments (typed as SidecarEventMap is). All of them are emitted on
 * the pool's thread. `member` is the slot of the member concerned.
 */
export interface PoolEventMap {
  /** A member's plugin emitted event `id`; `data` is a copy the listener owns. Copied only while it has a listener. */
  event: [id: number, data: Uint8Array, member: number];
  /** A member's plugin logged a line (level: 0 debug, 1 info, 2 warn, 3 error). */
  log: [level: number, text: string, member: number];
  /**
   * A fault that rejects no promise: a member's 'error' (ERR_CALLBACK_THREW, ERR_RING_CORRUPT, …) or a member that
   * could not start (ERR_SIDECAR_START …). Without a listener it is a process warning instead: it never ends Node.
   */
  error: [error: SidecarError];
  /** A command killed its member twice: quarantined by the member and pool-wide. */
  poison: [poison: PoolPoison];
  /** A member started, restarted, was replaced, stopped or failed to start (MemberChange). */
  member: [change: MemberChange];
  /** The metrics, every options.statsIntervalMs while this event has a listener (the timer does not keep Node alive). */
  stats: [stats: PoolStats];
}

type Phase = 'running' | 'stopping' | 'stopped';

const REQUEST_KEYS = knownKeys<PoolRequestOptions>({ type: true, timeout: true, deadlineMs: true, signal: true, key: true });
const SEND_KEYS = knownKeys<PoolSendOptions>({ type: true, key: true });
const BROADCAST_KEYS = knownKeys<PoolBroadcastOptions>({ type: true });
const STOP_KEYS = knownKeys<PoolStopOptions>({ timeout: true, drain: true });

function checkKey(key: unknown): RequestKey | undefined {
  if (key === undefined) return undefined;
  if (typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key))) return key;
  throw badArg('options.key', 'a string or a finite number', key);
}

const NOOP = (): void => {};

/**
 * The rejection a member gives a request the pool cancelled or took back: the pool has already settled the caller's
 * promise (or queued the task again) and ignores it, so one shared error without a stack serves every such case —
 * building an error with its stack trace per cancellation was a measurable part of the abort path.
 */
const TAKEN_BACK = (() => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new SidecarError('ERR_ABORTED', 'The pool cancelled this request on its member, or took it back to run it on another.');
  } finally {
    Error.stackTraceLimit = limit;
  }
})();

export class SidecarPool extends EventEmitter<PoolEventMap> {
  readonly mode: 'thread' | 'process';
  readonly #o: ResolvedPoolOptions;
  readonly #factory: MemberFactory;
  readonly #router: Router = leastBusy;
  readonly #slots: MemberSlot[];
  readonly #queue = new TaskQueue();
  readonly #hooks: MemberHooks;
  readonly #quarantine: Quarantine;
  readonly #streams = new EventStreams<PoolEvent>();
  /** Slots whose member feeds #streams (events() has an iterator). */
  readonly #feeding = new Set<MemberSlot>();
  #maxCommandBytes = 0;
  #phase: Phase = 'running';
  #stopPromise: Promise<PoolExit> | undefined;
  /** Resolves the drain of stop() when the queues empty. */
  #onDrained: (() => void) | undefined;
  #statsTimer: NodeJS.Timeout | undefined;
  readonly #startedAt = performance.now();
  /** Busy time and lifetime of members that are gone (for the pool's utilization). */
  #pastBusyMs = 0;
  #pastMemberMs = 0;
  #completed = 0;
  #failed = 0;
  #restarts = 0;
  #cancelKills = 0;
  #replacements = 0;
  #poisoned = 0;
  #quarantined = 0;
  #dropped = 0;
  readonly #waitTime = new DurationHistogram();
  readonly #runTime = new DurationHistogram();
  readonly #candidates: MemberSlot[] = [];

  private constructor(o: ResolvedPoolOptions, factory: MemberFactory) {
    super();
    this.mode = o.mode;
    this.#o = o;
    this.#factory = factory;
    this.#quarantine = new Quarantine(o.maxQuarantine);
    this.#slots = Array.from({ length: o.max }, (_, i) => new MemberSlot(i));
    this.#hooks = {
      ready: (m) => this.#onMemberReady(m),
      exit: (m, exit) => this.#onMemberExit(m, exit),
      event: (m, id, data) => this.emit('event', id, data, m.slot),
      log: (m, level, text) => this.emit('log', level, text, m.slot),
      error: (_m, error) => this.#emitError(error),
      poison: (m, poison) => this.#onPoison(m, poison),
    };
    // The typed map has no 'newListener': the untyped view of the same emitter.
    const untyped = this as EventEmitter;
    untyped.on('newListener', (name: string) => this.#listenerAdded(name as keyof PoolEventMap));
    untyped.on('removeListener', (name: string) => this.#listenerRemoved(name as keyof PoolEventMap));
  }

  /**
   * Starts a pool: validates every option (ERR_INVALID_ARG naming it — the members' options as Sidecar.start() does),
   * starts max(size.min, 1) members and resolves once they are ready. Rejects like Sidecar.start() when a member
   * cannot start (ERR_SIDECAR_START, ERR_SANDBOX_UNAVAILABLE, …); the members already started are stopped first, so
   * nothing is left behind. Owner thread: the calling thread.
   */
  static async start(options: SidecarPoolOptions): Promise<SidecarPool> {
    const o = resolvePoolOptions(options);
    await initMetrics();
    const pool = new SidecarPool(o, localMembers(o.member));
    const first = Math.max(o.min, 1);
    const starts: Promise<void>[] = [];
    for (let i = 0; i < first; i++) starts.push(pool.#startMember(pool.#slots[i]!, 'start', true));
    const results = await Promise.allSettled(starts);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) {
      await pool.stop({ drain: false }).catch(NOOP);
      throw failure.reason;
    }
    return pool;
  }

  /** Largest command payload in bytes (as Sidecar.maxCommandBytes: every member has the same rings). */
  get maxCommandBytes(): number {
    return this.#maxCommandBytes;
  }

  /** Members running or starting. */
  get size(): number {
    let n = 0;
    for (const s of this.#slots) if (s.live) n++;
    return n;
  }

  /**
   * Sends one request to a member and resolves with its reply (a copy the caller owns). It waits in the pool's queue
   * until a member has room (the least busy member, or its key's). Rejects with ERR_TIMEOUT (options.timeout /
   * deadlineMs) or ERR_ABORTED (options.signal) at once, wherever the request is: queued — it is removed and never
   * runs; in a member's ring — withdrawn, never runs; running, in process mode — the member's process is killed (the
   * work stops), restarted at once, and the requests it held are re-routed; running in thread mode — the call runs to
   * its end, its reply is ignored. Rejects with ERR_QUEUE_FULL beyond maxQueue / maxQueueBytes, ERR_SIDECAR_POISON for
   * a command quarantined pool-wide (or the one that killed its member twice), ERR_SIDECAR_STOPPED after stop(), and
   * otherwise as Sidecar.request() on its member (docs/reliability.md). Throws ERR_INVALID_ARG and ERR_RING_TOO_BIG
   * for bad arguments, leaving nothing behind.
   */
  request(data: ArrayBufferView | ArrayBuffer | string, requestOptions?: PoolRequestOptions): Promise<Uint8Array> {
    const bytes = this.#checkCommand(data);
    const options = optionsObject(requestOptions, REQUEST_KEYS);
    const type = commandType(options);
    const timeout = requestTimeout(options?.timeout);
    const deadline = options?.deadlineMs;
    if (deadline !== undefined && (typeof deadline !== 'number' || !Number.isFinite(deadline))) {
      throw badArg('options.deadlineMs', 'a finite number of milliseconds since the epoch (Date.now() scale)', deadline);
    }
    const signal = requestSignal(options?.signal);
    const keySlot = this.#keySlot(options?.key);
    if (this.#phase !== 'running') return Promise.reject(this.#stoppedError());
    if (signal?.aborted) return Promise.reject(new SidecarError('ERR_ABORTED', 'The request was aborted by its signal before it was sent.', { cause: signal.reason }));
    let waitMs = timeout;
    if (deadline !== undefined) {
      const left = Math.ceil(deadline - Date.now());
      if (left <= 0) return Promise.reject(new SidecarError('ERR_TIMEOUT', `The request's deadline (options.deadlineMs ${deadline}) had passed when it was made.`));
      waitMs = waitMs === undefined ? Math.min(left, MAX_TIMEOUT_MS) : Math.min(waitMs, left);
    }
    const refused = this.#refuse(type, bytes);
    if (refused !== undefined) return Promise.reject(refused);
    let resolve!: (value: Uint8Array) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<Uint8Array>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const task = new PoolTask('request', bytes, type, keySlot, resolve, reject, performance.now());
    const full = this.#admit(task);
    if (full !== undefined) return Promise.reject(full);
    if (task.state === 'done') return promise;
    if (waitMs !== undefined) {
      const ms = waitMs;
      const reason = timeout === ms ? `its timeout of ${ms} ms` : `its deadline (options.deadlineMs ${deadline})`;
      task.timer = setTimeout(() => this.#cancel(task, 'ERR_TIMEOUT', `The request got no reply within ${reason}`), ms);
    }
    if (signal !== undefined) {
      task.signal = signal;
      task.onAbort = () => this.#cancel(task, 'ERR_ABORTED', 'The request was aborted by its signal', signal.reason);
      signal.addEventListener('abort', task.onAbort, { once: true });
    }
    return promise;
  }

  /**
   * Sends one command (no reply) to one member: the least busy, or its key's (in order with that key's requests).
   * Resolves once the member accepted it (in its ring or backlog); from then on it is under that member's delivery
   * contract (processed before stop() resolves, or counted in `dropped`). Rejects and throws as request(), without
   * the timeout, deadline and signal.
   */
  send(data: ArrayBufferView | ArrayBuffer | string, sendOptions?: PoolSendOptions): Promise<void> {
    const bytes = this.#checkCommand(data);
    const options = optionsObject(sendOptions, SEND_KEYS);
    const type = commandType(options);
    const keySlot = this.#keySlot(options?.key);
    if (this.#phase !== 'running') return Promise.reject(this.#stoppedError());
    const refused = this.#refuse(type, bytes);
    if (refused !== undefined) return Promise.reject(refused);
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const task = new PoolTask('send', bytes, type, keySlot, () => resolve(), reject, performance.now());
    const full = this.#admit(task);
    return full === undefined ? promise : Promise.reject(full);
  }

  /**
   * Sends one command to every member running or starting now (for a configuration change); resolves when every one
   * accepted it, rejects with the first member's refusal. Members started later (scaling, replacement) do not get it:
   * they start with options.config. Throws as send().
   */
  broadcast(data: ArrayBufferView | ArrayBuffer | string, broadcastOptions?: PoolBroadcastOptions): Promise<void> {
    const bytes = this.#checkCommand(data).slice();
    const type = commandType(optionsObject(broadcastOptions, BROADCAST_KEYS));
    if (this.#phase !== 'running') return Promise.reject(this.#stoppedError());
    const sends: Promise<void>[] = [];
    for (const slot of this.#slots) {
      if (slot.member !== undefined && !slot.retiring && slot.member.state !== 'stopped' && slot.member.state !== 'stopping') {
        sends.push(slot.member.send(bytes, type));
      } else if (slot.starting !== undefined) {
        sends.push(slot.starting.then(() => {
          if (slot.member === undefined) throw new SidecarError('ERR_SIDECAR_START', `Member ${slot.index} did not start, so it did not get the broadcast.`);
          return slot.member.send(bytes, type);
        }));
      }
    }
    return Promise.all(sends).then(NOOP);
  }

  /**
   * An async iterator over the events of every member from now on (copies, each with its member's slot), in each
   * member's order, ending when the pool stops. An iterator holding options.eventStreamHighWaterMark unconsumed events
   * pauses the reading of the members' event rings (backpressure, nothing dropped).
   */
  events(): AsyncIterableIterator<PoolEvent> {
    const it = this.#streams.iterator();
    for (const slot of this.#slots) if (slot.member !== undefined) this.#feed(slot, slot.member);
    return it;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<PoolEvent> {
    return this.events();
  }

  /** The pool's metrics now (docs/pool.md "Metrics"). */
  stats(): PoolStats {
    const now = performance.now();
    const members: MemberStats[] = [];
    let busy = this.#pastBusyMs;
    let lifetime = this.#pastMemberMs;
    let inFlight = 0;
    let queued = this.#queue.size;
    for (const slot of this.#slots) {
      queued += slot.keyed.size;
      const m = slot.member;
      if (m === undefined) continue;
      const age = now - slot.since;
      const b = slot.busy.busyMs(now);
      busy += b;
      lifetime += age;
      inFlight += slot.inFlight.size;
      members.push({
        member: slot.index,
        kind: m.kind,
        pid: m.pid,
        state: m.state,
        inFlight: slot.inFlight.size,
        queued: slot.keyed.size,
        completed: slot.completed,
        failed: slot.failed,
        waitTime: slot.waitTime.summary(),
        runTime: slot.runTime.summary(),
        utilization: age > 0 ? Math.min(1, b / age) : 0,
        restarts: slot.restarts,
        cancelKills: slot.cancelKills,
        poisoned: slot.poisoned,
      });
    }
    return {
      members,
      size: this.size,
      completed: this.#completed,
      failed: this.#failed,
      inFlight,
      queued,
      waitTime: this.#waitTime.summary(),
      runTime: this.#runTime.summary(),
      utilization: lifetime > 0 ? Math.min(1, busy / lifetime) : 0,
      restarts: this.#restarts,
      cancelKills: this.#cancelKills,
      replacements: this.#replacements,
      poisoned: this.#poisoned,
      quarantined: this.#quarantined,
      elapsedMs: now - this.#startedAt,
    };
  }

  /**
   * Stops the pool: no new work is accepted (ERR_SIDECAR_STOPPED); with drain (default) the queued requests and sends
   * run first, then every member stops as Sidecar.stop() does (its accepted commands processed). Without drain, queued
   * work rejects with ERR_SIDECAR_STOPPED and members stop with { drain: false }. `timeout` bounds the whole stop:
   * what is still queued then is rejected and counted in `dropped`, members still running are killed (process mode).
   * Idempotent; never rejects. Throws ERR_INVALID_ARG for bad options.
   */
  stop(stopOptions?: PoolStopOptions): Promise<PoolExit> {
    const { timeout, drain } = stopArgs(optionsObject(stopOptions, STOP_KEYS), this.#o.resolvedMember.stopTimeoutMs);
    this.#stopPromise ??= this.#stop(timeout, drain);
    return this.#stopPromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Admission and routing.

  #checkCommand(data: unknown): Uint8Array {
    const bytes = toBytes('data', data);
    if (bytes.byteLength > this.#maxCommandBytes && this.#maxCommandBytes > 0) {
      throw new SidecarError('ERR_RING_TOO_BIG', `The argument 'data' is ${bytes.byteLength} bytes, more than a member's largest command of ${this.#maxCommandBytes} bytes (options.commandRingBytes / 2 minus headers).`);
    }
    return bytes;
  }

  #keySlot(key: unknown): number {
    const k = checkKey(key);
    return k === undefined ? -1 : this.#router.slotOf(k, this.#slots.length);
  }

  #stoppedError(): SidecarError {
    return new SidecarError('ERR_SIDECAR_STOPPED', 'The pool is stopping or stopped and accepts no new commands.');
  }

  /** A command matching the quarantine is refused without reaching any member. */
  #refuse(type: number, bytes: Uint8Array): SidecarError | undefined {
    if (!this.#quarantine.has(type, bytes)) return undefined;
    this.#quarantined++;
    return new SidecarError('ERR_SIDECAR_POISON', `This command (type ${type}, ${bytes.byteLength} bytes) killed a member of the pool twice and is quarantined pool-wide; it was refused without reaching a member.`);
  }

  /** Dispatches `task` at once or queues it; returns the ERR_QUEUE_FULL error when it may not wait. */
  #admit(task: PoolTask): SidecarError | undefined {
    const target = task.keySlot >= 0 ? this.#slots[task.keySlot]! : undefined;
    if (target !== undefined) {
      if (target.keyed.size === 0 && target.ready && target.inFlight.size < this.#o.concurrency) {
        this.#dispatch(task, target);
        return undefined;
      }
    } else if (this.#queue.size === 0) {
      const slot = this.#pick();
      if (slot !== undefined) {
        this.#dispatch(task, slot);
        return undefined;
      }
    }
    if (this.#queuedCount() >= this.#o.maxQueue || this.#queuedBytes() + task.bytes.byteLength > this.#o.maxQueueBytes) {
      return new SidecarError('ERR_QUEUE_FULL', `The pool's queue is full (options.maxQueue ${this.#o.maxQueue}, options.maxQueueBytes ${this.#o.maxQueueBytes}); every member is busy. Wait for replies before sending more.`);
    }
    task.bytes = task.bytes.slice(); // the caller may reuse its buffer once request() returned
    if (target !== undefined) {
      target.keyed.push(task);
      if (target.member === undefined && target.starting === undefined) void this.#startMember(target, 'scale', false);
    } else {
      this.#queue.push(task);
      this.#scaleUp();
    }
    return undefined;
  }

  #queuedCount(): number {
    let n = this.#queue.size;
    for (const s of this.#slots) n += s.keyed.size;
    return n;
  }

  #queuedBytes(): number {
    let n = this.#queue.bytes;
    for (const s of this.#slots) n += s.keyed.bytes;
    return n;
  }

  /** The least busy ready member with room, by the router. */
  #pick(): MemberSlot | undefined {
    const c = this.#candidates;
    c.length = 0;
    for (const s of this.#slots) if (s.ready && s.inFlight.size < this.#o.concurrency) c.push(s);
    if (c.length <= 1) return c[0];
    return this.#router.pick(c);
  }

  /** Starts one more member when work waits, no member has room, none is starting, and the pool is below max. */
  #scaleUp(): void {
    if (this.#phase === 'stopped') return;
    let live = 0;
    for (const s of this.#slots) {
      if (s.starting !== undefined || s.replacing) return; // capacity is on its way
      if (s.live) live++;
    }
    if (live >= this.#slots.length) return;
    const free = this.#slots.find((s) => s.member === undefined && s.starting === undefined);
    if (free !== undefined) void this.#startMember(free, 'scale', false);
  }

  #dispatch(task: PoolTask, slot: MemberSlot): void {
    const member = slot.member!;
    const now = performance.now();
    task.state = 'running';
    task.slot = slot;
    task.dispatchedAt = now;
    const waited = now - task.enqueuedAt;
    this.#waitTime.record(waited);
    slot.waitTime.record(waited);
    const dispatch = ++task.dispatches;
    if (slot.idleTimer !== undefined) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    if (task.kind === 'send') {
      member.send(task.bytes, task.type).then(
        () => this.#sendSettled(task, undefined),
        (error: unknown) => this.#sendSettled(task, error),
      );
      return;
    }
    slot.hold(task, now);
    const { id, promise } = member.request(task.bytes, task.type);
    task.memberId = id;
    promise.then(
      (reply) => this.#settled(task, slot, dispatch, reply, undefined),
      (error: unknown) => this.#settled(task, slot, dispatch, undefined, error),
    );
  }

  #sendSettled(task: PoolTask, error: unknown): void {
    if (task.state !== 'running') return;
    task.state = 'done';
    if (error === undefined) task.resolve(new Uint8Array(0));
    else {
      this.#failed++;
      task.reject(error);
    }
    this.#progress();
  }

  #settled(task: PoolTask, slot: MemberSlot, dispatch: number, reply: Uint8Array | undefined, error: unknown): void {
    if (task.dispatches !== dispatch) return; // the pool took it back from this member (re-routed or cancelled)
    this.#released(task, slot);
    if (task.state === 'running') {
      task.state = 'done';
      this.#clearCancellers(task);
      if (error === undefined) {
        slot.completed++;
        this.#completed++;
        task.resolve(reply!);
      } else {
        slot.failed++;
        this.#failed++;
        task.reject(error);
      }
    }
    this.#fill(slot);
    this.#progress();
  }

  /** `task` leaves `slot`'s in-flight set (settled, withdrawn or killed): its run time is recorded. */
  #released(task: PoolTask, slot: MemberSlot): void {
    const now = performance.now();
    if (!slot.release(task, now)) return;
    const ran = now - task.dispatchedAt;
    slot.runTime.record(ran);
    this.#runTime.record(ran);
  }

  /** Gives `slot`'s member work from its key queue, then from the pool's queue, up to the concurrency. */
  #fill(slot: MemberSlot): void {
    if (!slot.ready) return;
    while (slot.inFlight.size < this.#o.concurrency) {
      const task = slot.keyed.shift() ?? this.#queue.shift();
      if (task === undefined) break;
      this.#dispatch(task, slot);
    }
    this.#maybeIdle(slot);
  }

  #fillAll(): void {
    for (const slot of this.#slots) this.#fill(slot);
  }

  /** After any settlement: the drain of stop() may be complete. */
  #progress(): void {
    if (this.#onDrained !== undefined && this.#queuedCount() === 0) {
      const done = this.#onDrained;
      this.#onDrained = undefined;
      done();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Cancellation.

  #clearCancellers(task: PoolTask): void {
    if (task.timer !== undefined) clearTimeout(task.timer);
    task.timer = undefined;
    if (task.onAbort !== undefined) task.signal?.removeEventListener('abort', task.onAbort);
    task.onAbort = undefined;
  }

  /**
   * A request's timeout, deadline or signal fired: make sure it does not run (or stops running), then reject it — in
   * the same synchronous turn, so the caller hears of it at once. `why` starts the rejection's sentence.
   */
  #cancel(task: PoolTask, code: 'ERR_TIMEOUT' | 'ERR_ABORTED', why: string, cause?: unknown): void {
    if (task.state === 'done') return;
    this.#clearCancellers(task);
    const fail = (where: string): void => {
      task.state = 'done';
      this.#failed++;
      task.reject(new SidecarError(code, `${why}; ${where}`, cause === undefined ? undefined : { cause }));
    };
    if (task.state === 'queued') {
      task.queue?.remove(task);
      fail('it was still queued in the pool and will not run.');
      this.#progress();
      return;
    }
    const slot = task.slot!;
    const member = slot.member;
    if (member === undefined) {
      fail(`its member ${slot.index} had ended; it will not run again.`);
      return; // the member's settlement releases the task
    }
    const outcome = member.cancel(task.memberId, TAKEN_BACK, true);
    if (outcome === 'running') {
      // Thread mode (or finished, its reply on the way): it stays in flight on the member until it settles.
      slot.failed++;
      fail(this.mode === 'thread'
        ? `it is running in member ${slot.index}'s thread, which cannot be stopped: the call runs to its end and its reply is ignored.`
        : `member ${slot.index} had already finished it; its reply is ignored.`);
      return;
    }
    task.dispatches++;
    this.#released(task, slot);
    slot.failed++;
    if (outcome === 'killed') {
      slot.cancelKills++;
      this.#cancelKills++;
      slot.replacing = true;
      // Once stop() has handed the members their last work, what a killed member held stays with it: its restart
      // carries it over and its own drain processes it (reliability.md rule 4).
      const reroute = this.#phase === 'running' || this.#onDrained !== undefined;
      if (reroute) this.#reroute(slot, member);
      fail(`it was running, so member ${slot.index}'s process (pid ${member.pid}) was killed to stop it and is being restarted; the requests queued behind it ${reroute ? 'were re-routed' : 'stay with it'}.`);
    } else if (outcome === 'withdrawn') fail(`its command was withdrawn from member ${slot.index} before the plugin started it and will not run.`);
    else fail(`member ${slot.index} had already settled it.`);
    this.#fillAll();
    this.#progress();
  }

  /**
   * `slot`'s process was killed: take back every request without a key that it held and the plugin has not started
   * (withdrawn: it never runs there) and queue it again at the front, in its order, for any member. Keyed requests
   * stay: they could only go to this slot again, and leaving them to the restart keeps their order with the keyed
   * sends the member holds (the restart carries both over in ring order).
   */
  #reroute(slot: MemberSlot, member: PoolMember): void {
    const back: PoolTask[] = [];
    const now = performance.now();
    for (const task of [...slot.inFlight]) {
      if (task.state !== 'running' || task.keySlot >= 0) continue;
      if (member.cancel(task.memberId, TAKEN_BACK, false) !== 'withdrawn') continue;
      task.dispatches++;
      slot.release(task, now);
      back.push(task);
    }
    this.#queue.unshiftAll(back);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Members.

  /** Starts a member in `slot`. `rethrow`: the caller (start()) handles the failure; otherwise it is reported. */
  #startMember(slot: MemberSlot, cause: MemberChange['cause'], rethrow: boolean): Promise<void> {
    const started = this.#factory.start(slot.index, this.#hooks).then(
      (member) => {
        slot.starting = undefined;
        if (this.#maxCommandBytes === 0) this.#maxCommandBytes = member.maxCommandBytes;
        slot.member = member;
        slot.replacing = false;
        slot.retiring = false;
        slot.resetMetrics(performance.now());
        if (this.listenerCount('event') > 0) member.forwardEvents(true);
        if (this.#streams.active) this.#feed(slot, member);
        this.emit('member', { member: slot.index, kind: member.kind, pid: member.pid, what: 'started', cause });
        if (this.#phase === 'stopped') {
          void member.stop({ drain: false });
          return;
        }
        this.#fillAll();
        if (this.#queue.size > 0) this.#scaleUp(); // still more work than room: grow further
      },
      (error: unknown) => {
        slot.starting = undefined;
        const e = error instanceof SidecarError ? error : new SidecarError('ERR_SIDECAR_START', `Member ${slot.index} could not start: ${(error as Error)?.message ?? String(error)}`, { cause: error });
        if (rethrow) throw e;
        this.emit('member', { member: slot.index, kind: this.#factory.kind, pid: -1, what: 'failed', cause, error: e });
        this.#emitError(e);
        this.#failUnservable(e);
      },
    );
    slot.starting = started;
    return started;
  }

  /** A member could not start: what only it could serve (its key queue), and everything if no member is left, fails. */
  #failUnservable(error: SidecarError): void {
    for (const slot of this.#slots) {
      if (slot.live) continue;
      for (const task of slot.keyed.drain()) this.#failTask(task, error);
    }
    if (!this.#slots.some((s) => s.live)) for (const task of this.#queue.drain()) this.#failTask(task, error);
    this.#progress();
  }

  #failTask(task: PoolTask, error: unknown): void {
    if (task.state === 'done') return;
    this.#clearCancellers(task);
    task.state = 'done';
    this.#failed++;
    task.reject(error);
  }

  #onMemberReady(member: PoolMember): void {
    const slot = this.#slots[member.slot]!;
    const cause = slot.replacing ? 'cancel' : 'crash';
    slot.replacing = false;
    const exit = slot.lastExit;
    slot.lastExit = undefined;
    this.emit('member', { member: slot.index, kind: member.kind, pid: member.pid, what: 'restarted', cause, ...(exit === undefined ? {} : { exit }) });
    this.#fillAll();
  }

  #onMemberExit(member: PoolMember, exit: SidecarExit): void {
    const slot = this.#slots[member.slot]!;
    if (exit.restarting) {
      slot.lastExit = exit;
      if (exit.reason !== 'cancelled') {
        slot.restarts++;
        this.#restarts++;
      }
      return;
    }
    // The member ended for good.
    // A member stop() ends is counted from its exit there; one that ended on its own (for good) is counted here.
    if (!slot.stopping) this.#dropped += exit.dropped;
    const now = performance.now();
    this.#pastBusyMs += slot.busy.busyMs(now);
    this.#pastMemberMs += now - slot.since;
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    this.#feeding.delete(slot);
    const retired = slot.retiring;
    slot.member = undefined;
    slot.replacing = false;
    slot.retiring = false;
    if (this.#phase === 'stopped' || (this.#phase === 'stopping' && this.#onDrained === undefined)) return;
    if (retired || exit.reason === 'stopped') {
      this.emit('member', { member: slot.index, kind: member.kind, pid: member.pid, what: 'stopped', cause: 'idle', exit });
      if (slot.keyed.size > 0) void this.#startMember(slot, 'scale', false);
      return;
    }
    // Its restart budget is used up (or it cannot restart): a fresh member takes the slot.
    this.#replacements++;
    this.emit('member', { member: slot.index, kind: member.kind, pid: member.pid, what: 'replaced', cause: 'budget', exit });
    void this.#startMember(slot, 'budget', false);
  }

  #onPoison(member: PoolMember, poison: SidecarPoison): void {
    const slot = this.#slots[member.slot]!;
    slot.poisoned++;
    this.#poisoned++;
    this.#quarantine.add(poison.type, poison.data);
    this.emit('poison', { ...poison, member: slot.index });
  }

  /** Starts the idle timer of a member above size.min with nothing in flight or waiting for it. */
  #maybeIdle(slot: MemberSlot): void {
    if (this.#phase !== 'running' || slot.idleTimer !== undefined || !slot.ready) return;
    if (slot.inFlight.size > 0 || slot.keyed.size > 0 || this.#queue.size > 0) return;
    if (this.size <= this.#o.min) return;
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      if (this.#phase !== 'running' || !slot.ready || slot.inFlight.size > 0 || slot.keyed.size > 0 || this.size <= this.#o.min) return;
      slot.retiring = true;
      void slot.member!.stop({});
    }, this.#o.idleTimeoutMs);
    slot.idleTimer.unref();
  }

  /** Feeds `member`'s events into the pool's events() iterators while any exists. Never rejects. */
  #feed(slot: MemberSlot, member: PoolMember): void {
    if (this.#feeding.has(slot)) return;
    this.#feeding.add(slot);
    const it = member.events();
    void (async () => {
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) {
          this.#streams.push({ id: r.value.id, data: r.value.data, member: slot.index });
          if (!this.#streams.active) break;
          if (this.#streams.full) await this.#streams.whenRoom();
        }
      } catch (error) {
        this.#emitError(new SidecarError('ERR_INVALID_STATE', `The events of member ${slot.index} could not be read: ${(error as Error)?.message}`, { cause: error }));
      } finally {
        if (slot.member === member) this.#feeding.delete(slot);
        await it.return?.();
      }
    })();
  }

  #emitError(error: SidecarError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error);
  }

  #listenerAdded(name: keyof PoolEventMap): void {
    if (name === 'event' && this.listenerCount('event') === 0) {
      for (const s of this.#slots) s.member?.forwardEvents(true);
    } else if (name === 'stats' && this.#statsTimer === undefined && this.#phase !== 'stopped') {
      this.#statsTimer = setInterval(() => this.emit('stats', this.stats()), this.#o.statsIntervalMs);
      this.#statsTimer.unref();
    }
  }

  #listenerRemoved(name: keyof PoolEventMap): void {
    if (name === 'event' && this.listenerCount('event') === 0) {
      for (const s of this.#slots) s.member?.forwardEvents(false);
    } else if (name === 'stats' && this.listenerCount('stats') === 0 && this.#statsTimer !== undefined) {
      clearInterval(this.#statsTimer);
      this.#statsTimer = undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Stopping.

  async #stop(timeout: number, drain: boolean): Promise<PoolExit> {
    this.#phase = 'stopping';
    const deadline = performance.now() + timeout;
    const stopped = new SidecarError('ERR_SIDECAR_STOPPED', 'The pool stopped before this command reached a member.');
    if (drain && this.#queuedCount() > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#onDrained = resolve;
        timer = setTimeout(resolve, timeout);
        this.#scaleUp();
        this.#fillAll();
      });
      clearTimeout(timer);
      this.#onDrained = undefined;
    }
    for (const task of this.#queue.drain()) {
      this.#dropped++;
      this.#failTask(task, stopped);
    }
    for (const slot of this.#slots) {
      for (const task of slot.keyed.drain()) {
        this.#dropped++;
        this.#failTask(task, stopped);
      }
      if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    this.#phase = 'stopped';
    if (this.#statsTimer !== undefined) clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    await Promise.allSettled(this.#slots.map((s) => s.starting));
    const left = Math.max(1, Math.ceil(deadline - performance.now()));
    const exits = await Promise.all(
      this.#slots
        .filter((s) => s.member !== undefined)
        .map(async (s) => {
          const member = s.member!;
          const pid = member.pid;
          s.stopping = true;
          const exit = await member.stop({ timeout: left, drain });
          this.emit('member', { member: s.index, kind: member.kind, pid, what: 'stopped', cause: 'stop', exit });
          return exit;
        }),
    );
    this.#streams.end();
    let dropped = this.#dropped;
    for (const e of exits) dropped += e.dropped;
    return { reason: 'stopped', dropped, members: exits };
  }
}
