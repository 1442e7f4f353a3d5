/**
 * Sidecar: native code (a plugin, docs/plugin-abi.md) on its own thread or in its own process, fed with commands
 * through a shared-memory ring and answering with events and replies through another. See docs/architecture.md for
 * the flows, the threading model and who owns which memory.
 *
 * Threading contract of the whole class: every method must be called on the JavaScript thread that called
 * Sidecar.start() (the owner thread); every event, host callback and promise settles on that thread, never on a
 * native thread. Host callbacks (options.host) and the 'event'/'log' events run in the order the native side
 * produced the messages.
 */
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { SidecarError, checkInteger, invalidArg } from '../errors.js';
import { EventfdParker } from '../native/eventfd-parker.js';
import { defaultParker, type Parker } from '../ring/parker.js';
import type { Ring } from '../ring/ring.js';
import { createChannel, type SidecarChannel } from './channel.js';
import { EventStreams, type SidecarEvent } from './event-stream.js';
import {
  EXIT_ABI_MISMATCH,
  EXIT_BAD_REGION,
  EXIT_CORRUPT,
  EXIT_INIT_FAILED,
  EXIT_LOAD_FAILED,
  EXIT_NONE,
  EXIT_NORMAL,
  EXIT_NOT_PLUGIN,
  EXIT_PARENT_DIED,
  EXIT_USAGE,
  MSG_COMMAND,
  MSG_DISPOSED,
  MSG_EVENT,
  MSG_LOG,
  MSG_PROCESS,
  MSG_READY,
  MSG_ARG0_OFFSET,
  MSG_ARG1_OFFSET,
  MSG_REPLY,
  SIDECAR_MSG_HEADER_SIZE,
} from './layout.js';
import { resolveSidecarOptions, type ResolvedSidecarOptions, type SidecarMode, type SidecarOptions } from './options.js';
import { PendingRequests } from './pending.js';
import { ProcessRunner, ThreadRunner, type Runner, type RunnerExit } from './runner.js';
import { Watchdog } from './watchdog.js';

/** Why a sidecar ended. */
export type SidecarExitReason =
  | 'stopped' // stop() ended it normally: every command was processed and dispose ran
  | 'crashed' // the process died (signal or unexpected exit code)
  | 'watchdog' // the watchdog found a hung plugin call and killed the process
  | 'stop-timeout' // stop() did not finish in time and killed the process
  | 'start-failed' // the plugin could not be loaded or its init failed
  | 'corrupt' // a ring failed validation or carried a malformed message
  | 'parent-died'; // the sidecar process saw its host disappear (only seen by tests that fake it)

/** The argument of the 'exit' event and the result of stop(). */
export interface SidecarExit {
  reason: SidecarExitReason;
  /** Process mode: exit code, or null when killed by a signal. Thread mode: null. */
  code: number | null;
  /** Process mode: the signal that ended the process, or null. */
  signal: NodeJS.Signals | null;
  /** A sentence from the sidecar (for example the plugin's init error), when it gave one. */
  message?: string;
  /** True when a restart is scheduled (restart policy). */
  restarting: boolean;
}

export interface RequestOptions {
  /** Command type passed to the plugin's process (0 … 2^32 − 1, default 0). */
  type?: number;
  /** Milliseconds before the request rejects with ERR_TIMEOUT (the command still reaches the plugin). */
  timeout?: number;
  /** Rejects the request with ERR_ABORTED when it aborts. */
  signal?: AbortSignal;
}

export interface SendOptions {
  /** Command type passed to the plugin's process (0 … 2^32 − 1, default 0). */
  type?: number;
}

type Phase = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

interface BacklogItem {
  type: number;
  id: number;
  bytes: Uint8Array;
  resolve: (() => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
}

const RESOLVED = Promise.resolve();
/**
 * Commands staged before #writeCommand publishes them without waiting for the end of the burst: large enough that
 * the store of tail, the fence and a possible futex wake are shared by many commands, small enough that the runtime
 * starts on a long burst while the JavaScript thread is still writing it (the two overlap instead of taking turns).
 * The runtime reads commands in batches of this size too (NS_RUNTIME_BATCH).
 */
const COMMANDS_PER_PUBLISH = 64;
/**
 * While the runtime is parked an early publication also costs a futex wake (a system call, and several microseconds
 * on a 2-core machine): then a burst publishes early only every this many commands.
 */
const COMMANDS_PER_WAKE = 256;
/** Events drained per turn before the pump looks again. */
const DRAIN_LIMIT = 4096;
/** Drain batches in a row (park mode) before the pump lets the event loop run other callbacks (I/O, timers). */
const TURNS_BEFORE_YIELD = 16;
/** Where a message header's arg0 and arg1 sit, in words from the start of its payload (SidecarChannel.words). */
const ARG0_WORD = MSG_ARG0_OFFSET / Uint32Array.BYTES_PER_ELEMENT;
/** Byte offset → index in the Uint32Array view of the region: payloads are 8-byte aligned (wire-format §4). */
const wordIndex = (byteOffset: number): number => byteOffset / Uint32Array.BYTES_PER_ELEMENT;
const ARG1_WORD = MSG_ARG1_OFFSET / Uint32Array.BYTES_PER_ELEMENT;

/**
 * Resolves from the event loop's check phase, after every pending microtask. The pump goes through it after it
 * delivered messages and before it polls again in a spinning wait policy: settling a request schedules the caller's
 * continuation as microtasks (often several hops deep), and polling synchronously before that code has sent its next
 * request would spin for nothing while holding the thread the continuation needs. Measured on the 2-core machine:
 * without this yield, a caller two awaits deep saw millisecond round trips in thread spin mode; with it, microseconds.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
const CALL_NAMES = ['none', 'init', 'process', 'dispose'];
const textDecoder = new TextDecoder('utf-8', { fatal: false });

function toBytes(name: string, data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof data === 'string') return new TextEncoder().encode(data);
  throw invalidArg(name, 'a string, an ArrayBuffer or an ArrayBufferView', data);
}

function commandType(options: { type?: number } | undefined): number {
  if (options === undefined || options === null) return 0;
  if (typeof options !== 'object') throw invalidArg('options', 'an object', options);
  return options.type === undefined ? 0 : checkInteger('options.type', options.type, 0, 0xffffffff);
}

async function checkPluginFile(path: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
    throw new SidecarError('ERR_SIDECAR_START', `The plugin file '${path}' ${why}.`, { cause: error });
  }
  if (!info.isFile()) throw new SidecarError('ERR_SIDECAR_START', `The plugin path '${path}' is not a regular file.`);
}

const START_FAILURES: Record<number, string> = {
  [EXIT_BAD_REGION]: 'The sidecar rejected its shared region.',
  [EXIT_LOAD_FAILED]: 'The plugin could not be loaded.',
  [EXIT_NOT_PLUGIN]: 'The library is not a native-sidecar plugin.',
  [EXIT_ABI_MISMATCH]: 'The plugin was built for another plugin ABI version.',
  [EXIT_INIT_FAILED]: "The plugin's init failed.",
  [EXIT_USAGE]: 'The sidecar executable was started with bad arguments.',
};

export class Sidecar extends EventEmitter {
  /** 'thread' or 'process'. */
  readonly mode: SidecarMode;

  readonly #o: ResolvedSidecarOptions;
  readonly #ch: SidecarChannel;
  /**
   * The event ring's parker: the pump sleeps in this thread's event loop on its eventfd, which the runtime (thread or
   * process, given the fd at every launch) writes on each wake of the event-ring consumer. Owned; closed by #finalize.
   */
  readonly #eventParker: EventfdParker;
  readonly #pending = new PendingRequests();
  readonly #streams = new EventStreams();
  readonly #backlog: BacklogItem[] = [];
  readonly #lifeAbort = new AbortController();
  readonly #watchdog: Watchdog | undefined;
  readonly #onMessageFn = (kind: number, payload: Uint8Array): void => this.#onMessage(kind, payload);
  readonly #publishCommandsFn = (): void => this.#publishCommands();
  /** A #publishCommands microtask is queued and has not run yet. */
  #publishQueued = false;
  /** Commands staged in the command ring since the last publication. */
  #unpublished = 0;

  #phase: Phase = 'starting';
  #runner: Runner | undefined;
  #pumpAbort = new AbortController();
  #ready = false;
  #preReady: SidecarEvent[] = [];
  #flushing = false;
  #backlogIdle: (() => void) | undefined;
  #startedAt = 0;
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #killReason: SidecarExitReason | undefined;
  #protocolError: string | undefined;
  #startSettle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #stopPromise: Promise<SidecarExit> | undefined;
  #finished: Promise<SidecarExit>;
  #finish!: (exit: SidecarExit) => void;
  #lastExit: SidecarExit | undefined;

  private constructor(o: ResolvedSidecarOptions, commandParker: Parker) {
    super();
    this.mode = o.mode;
    this.#o = o;
    this.#eventParker = new EventfdParker();
    try {
      this.#ch = createChannel(o, commandParker, this.#eventParker);
    } catch (error) {
      this.#eventParker.close();
      throw error;
    }
    this.#finished = new Promise((resolve) => {
      this.#finish = resolve;
    });
    if (o.watchdogMs !== undefined) {
      this.#watchdog = new Watchdog(this.#ch.control, o.watchdogMs, (call, ms) => this.#onHung(call, ms));
    }
  }

  /**
   * Starts a sidecar: creates its shared region, starts the native loop (thread or process), waits until the
   * plugin's init returned and calls host.init(). Owner thread: the calling thread. Rejects with ERR_INVALID_ARG for
   * bad options, ERR_SIDECAR_START when the plugin is missing, is not a plugin, has another ABI version, fails its
   * init or does not finish init within startTimeoutMs — in every such case nothing is left behind (no thread,
   * process, mapping or descriptor).
   */
  static async start(options: SidecarOptions): Promise<Sidecar> {
    const o = resolveSidecarOptions(options);
    await checkPluginFile(o.plugin);
    const sidecar = new Sidecar(o, defaultParker());
    await sidecar.#launchFirst();
    return sidecar;
  }

  /** The pid running the native loop: the sidecar process in process mode, this process in thread mode. */
  get pid(): number {
    return this.#runner?.pid ?? -1;
  }

  /** Commands processed by the plugin so far (modulo 2^32; read from the control block, informational). */
  get processedCount(): number {
    return this.#ch.control.processed;
  }

  /** Largest command payload in bytes (the command ring's max payload minus the 8-byte message header). */
  get maxCommandBytes(): number {
    return this.#ch.commands.maxPayload - SIDECAR_MSG_HEADER_SIZE;
  }

  /** Requests waiting for their reply. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /**
   * Sends one command (no reply expected). The bytes are copied into the command ring before the promise
   * resolves; when the ring is full the command waits in an in-memory queue (order is kept) and the promise resolves
   * once it is in the ring — await it to apply backpressure. Throws ERR_INVALID_ARG for bad data and
   * ERR_RING_TOO_BIG for a command larger than maxCommandBytes; rejects with ERR_SIDECAR_STOPPED after stop() and
   * ERR_SIDECAR_CRASHED when the sidecar died for good before the command got into the ring.
   */
  send(data: ArrayBufferView | ArrayBuffer | string, options?: SendOptions): Promise<void> {
    const bytes = this.#checkCommand(data);
    const type = commandType(options);
    if (!this.#accepting()) return Promise.reject(this.#notAccepting());
    if (this.#backlog.length === 0 && this.#writeCommand(type, 0, bytes)) return RESOLVED;
    return new Promise((resolve, reject) => {
      this.#backlog.push({ type, id: 0, bytes: bytes.slice(), resolve, reject });
      void this.#flushBacklog();
    });
  }

  /**
   * Sends one command and resolves with the plugin's reply (a copy the caller owns). Replies are matched by request
   * id, so any number of requests may be outstanding. Rejects with ERR_TIMEOUT / ERR_ABORTED (options),
   * ERR_SIDECAR_PLUGIN when the plugin's process returned non-zero without replying (`errno` holds the value),
   * ERR_SIDECAR_CRASHED at once when the sidecar dies, ERR_SIDECAR_STOPPED when it stops first.
   */
  request(data: ArrayBufferView | ArrayBuffer | string, options?: RequestOptions): Promise<Uint8Array> {
    const bytes = this.#checkCommand(data);
    const type = commandType(options);
    const timeout = options?.timeout === undefined ? undefined : checkInteger('options.timeout', options.timeout, 0, 2 ** 31 - 1);
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArg('options.signal', 'an AbortSignal', signal);
    if (!this.#accepting()) return Promise.reject(this.#notAccepting());
    if (signal?.aborted) return Promise.reject(new SidecarError('ERR_ABORTED', 'The request was aborted by its signal before it was sent.', { cause: signal.reason }));
    const promise = this.#pending.add(timeout, signal);
    const id = this.#pending.lastId;
    if (this.#backlog.length === 0 && this.#writeCommand(type, id, bytes)) return promise;
    this.#backlog.push({ type, id, bytes: bytes.slice(), resolve: undefined, reject: undefined });
    void this.#flushBacklog();
    return promise;
  }

  /** An async iterator over the events emitted from now on (copies), ending when the sidecar stops. */
  events(): AsyncIterableIterator<SidecarEvent> {
    return this.#streams.iterator();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<SidecarEvent> {
    return this.events();
  }

  /**
   * Stops the sidecar: commands already sent (including queued ones) are processed, the plugin's dispose runs, then
   * the thread is joined or the process has exited, and the shared region is unmapped. Resolves with the exit.
   * In process mode, a sidecar that has not finished within `timeout` ms (default options.stopTimeoutMs) is killed
   * and the result says 'stop-timeout'. In thread mode a thread cannot be killed: after the timeout stop() rejects
   * with ERR_TIMEOUT and the thread keeps its memory (it is leaked, not unmapped under running code). Idempotent:
   * every call returns the same promise. Requests still unanswered when the sidecar ends reject with
   * ERR_SIDECAR_STOPPED.
   */
  stop(options?: { timeout?: number }): Promise<SidecarExit> {
    const timeout = options?.timeout === undefined ? this.#o.stopTimeoutMs : checkInteger('options.timeout', options.timeout, 1, 2 ** 31 - 1);
    this.#stopPromise ??= this.#stop(timeout);
    return this.#stopPromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Starting and restarting.

  #launchFirst(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => {
      this.#startSettle = { resolve, reject };
    });
    const timer = setTimeout(() => this.#onStartTimeout(), this.#o.startTimeoutMs);
    try {
      this.#launch();
    } catch (error) {
      clearTimeout(timer);
      this.#startSettle = undefined;
      this.#finalize({ reason: 'start-failed', code: null, signal: null, restarting: false }, true);
      throw new SidecarError('ERR_SIDECAR_START', `The sidecar could not be started: ${(error as Error).message}`, { cause: error });
    }
    return started.finally(() => clearTimeout(timer));
  }

  /** Starts a runner on the channel (first start or restart) and the event pump that serves it. */
  #launch(): void {
    this.#ready = false;
    this.#preReady = [];
    this.#killReason = undefined;
    this.#protocolError = undefined;
    this.#ch.control.resetStatus();
    const runner =
      this.mode === 'thread'
        ? new ThreadRunner(this.#ch.region, this.#o.plugin, this.#o.waitPolicy, this.#eventParker.fd)
        : new ProcessRunner(this.#ch.region, this.#o.plugin, this.#o.waitPolicy, this.#eventParker.fd);
    this.#runner = runner;
    this.#startedAt = performance.now();
    this.#pumpAbort = new AbortController();
    void this.#pump(runner, this.#pumpAbort.signal);
    this.#watchdog?.start();
    void runner.exited.then((exit) => this.#onRunnerExit(runner, exit));
  }

  #onStartTimeout(): void {
    if (this.#startSettle === undefined) return;
    const settle = this.#startSettle;
    this.#startSettle = undefined;
    const error = new SidecarError('ERR_SIDECAR_START', `The plugin did not finish its init within ${this.#o.startTimeoutMs} ms.`);
    this.#phase = 'stopping'; // no restart: the exit that follows is the end
    if (this.#runner?.kill()) {
      // The exit handler cleans up; the caller learns the cause from this error.
      settle.reject(error);
      return;
    }
    // A thread cannot be killed: close the command ring so it ends as soon as init returns, and report now.
    this.#ch.commands.closeProducer();
    settle.reject(error);
  }

  #onReady(): void {
    this.#ready = true;
    if (this.#phase === 'starting' || this.#phase === 'restarting') this.#phase = 'running';
    this.#callHost('init', () => this.#o.host.init?.());
    const early = this.#preReady;
    this.#preReady = [];
    for (const e of early) this.#deliverEvent(e.id, e.data, true);
    if (this.#startSettle !== undefined) {
      const settle = this.#startSettle;
      this.#startSettle = undefined;
      settle.resolve();
    }
    this.emit('ready');
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Commands (this thread is the command ring's only producer).

  #checkCommand(data: unknown): Uint8Array {
    const bytes = toBytes('data', data);
    if (bytes.byteLength > this.maxCommandBytes) {
      throw new SidecarError(
        'ERR_RING_TOO_BIG',
        `The argument 'data' is ${bytes.byteLength} bytes long, more than the ${this.maxCommandBytes} bytes one command may carry (options.commandRingBytes sets the ring size).`,
      );
    }
    return bytes;
  }

  #accepting(): boolean {
    return this.#phase === 'running' || this.#phase === 'restarting' || this.#phase === 'starting';
  }

  #notAccepting(): SidecarError {
    return new SidecarError('ERR_SIDECAR_STOPPED', 'The sidecar was stopped (or is stopping) and accepts no more commands.');
  }

  /** Claims room for the message, writes its header and the bytes in place, commits. False when the ring is full. */
  #writeCommand(type: number, id: number, bytes: Uint8Array): boolean {
    const ring = this.#ch.commands;
    const slot = ring.claim(SIDECAR_MSG_HEADER_SIZE + bytes.byteLength);
    if (slot === null) return false;
    const w = wordIndex(slot.byteOffset);
    this.#ch.words[w + ARG0_WORD] = type;
    this.#ch.words[w + ARG1_WORD] = id;
    slot.set(bytes, SIDECAR_MSG_HEADER_SIZE);
    // Staged, not yet published: every command written in this turn of the microtask queue is published at once by
    // #publishCommands (one store of tail and one fence per batch instead of per command, and the runtime finds the
    // whole batch behind one acquire load of tail).
    ring.commit(MSG_COMMAND, false);
    const staged = ++this.#unpublished;
    if (staged >= COMMANDS_PER_PUBLISH && (staged >= COMMANDS_PER_WAKE || !this.#runtimeParked())) {
      this.#publishNow(ring); // a long burst: let the runtime start on this part while the rest is written
    } else if (!this.#publishQueued) {
      this.#publishQueued = true;
      queueMicrotask(this.#publishCommandsFn);
    }
    return true;
  }

  /**
   * Whether the runtime announced that it parks on the command ring (§5.1 step 2). A hint that only decides when to
   * publish early: the publication itself runs the full wake protocol, so a stale answer costs time, never a record.
   */
  #runtimeParked(): boolean {
    // Seq_cst load of a word the runtime writes; nothing is read on the strength of it.
    return Atomics.load(this.#ch.words, this.#ch.commandConsumerParked) !== 0;
  }

  #publishNow(ring: Ring): void {
    this.#unpublished = 0;
    ring.publish(); // release of tail: pairs with the runtime's acquire load of tail (wire-format §5 edges #1/#2)
  }

  /**
   * Publishes the commands staged by #writeCommand: the release store of tail pairs with the runtime's acquire load
   * of tail (wire-format §5 edges #1/#2), and wakes a parked runtime. Runs as a microtask queued by the first command
   * of a batch, so it follows every command the same synchronous burst (for example the continuations of the replies
   * one drain settled) wrote. A closed producer end was published by closeProducer(); a broken or unmapped ring has
   * nobody left to read it (the exit path fails the requests).
   */
  #publishCommands(): void {
    this.#publishQueued = false;
    if (this.#phase === 'stopped' || this.#unpublished === 0) return;
    try {
      this.#publishNow(this.#ch.commands);
    } catch {
      // ERR_RING_CLOSED (closeProducer() already published everything) or ERR_RING_CORRUPT (reported by the next
      // request's claim, which throws it).
    }
  }

  /** Moves queued commands into the ring in order, waiting for space (parked, per the wait policy) when full. */
  async #flushBacklog(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#backlog.length > 0) {
        const item = this.#backlog[0]!;
        if (!this.#writeCommand(item.type, item.id, item.bytes)) {
          const message = new Uint8Array(SIDECAR_MSG_HEADER_SIZE + item.bytes.byteLength);
          const header = new DataView(message.buffer);
          header.setUint32(MSG_ARG0_OFFSET, item.type, true);
          header.setUint32(MSG_ARG1_OFFSET, item.id, true);
          message.set(item.bytes, SIDECAR_MSG_HEADER_SIZE);
          await this.#ch.commands.write(MSG_COMMAND, message, { signal: this.#lifeAbort.signal });
        }
        this.#backlog.shift();
        item.resolve?.();
      }
    } catch (error) {
      const failure = this.#lifeAbort.signal.aborted ? (this.#lifeAbort.signal.reason as unknown) : error;
      this.#failBacklog(failure);
    } finally {
      this.#flushing = false;
      this.#backlogIdle?.();
    }
  }

  #failBacklog(error: unknown): void {
    const items = this.#backlog.splice(0);
    for (const item of items) {
      if (item.id !== 0) this.#pending.fail(item.id, error);
      else item.reject?.(error);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Events (this thread is the event ring's only consumer).

  /** Waits for messages (per the wait policy, never blocking the event loop) and dispatches them, in order. */
  async #pump(runner: Runner, signal: AbortSignal): Promise<void> {
    const ring = this.#ch.events;
    const spins = this.#o.waitPolicy.mode !== 'park';
    try {
      for (;;) {
        let turns = 0;
        while (ring.drain(this.#onMessageFn, DRAIN_LIMIT) > 0) {
          if (this.#protocolError !== undefined) return this.#onProtocolError(runner);
          if (spins || ++turns === TURNS_BEFORE_YIELD) {
            turns = 0;
            await yieldToEventLoop();
          } else {
            await RESOLVED;
          }
          if (signal.aborted) return;
        }
        if (this.#protocolError !== undefined) return this.#onProtocolError(runner);
        if (!(await ring.readable({ signal }))) {
          runner.eventsClosed();
          return;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      this.#protocolError = `the event ring failed: ${(error as Error).message}`;
      this.#onProtocolError(runner);
    }
  }

  #onMessage(kind: number, payload: Uint8Array): void {
    if (payload.byteLength < SIDECAR_MSG_HEADER_SIZE) {
      this.#protocolError = `a message of kind ${kind} is ${payload.byteLength} bytes long, shorter than its header`;
      return;
    }
    const w = wordIndex(payload.byteOffset);
    const arg0 = this.#ch.words[w + ARG0_WORD]!;
    const arg1 = this.#ch.words[w + ARG1_WORD]!;
    switch (kind) {
      case MSG_REPLY:
        if (arg1 === 0) this.#pending.resolve(arg0, payload.slice(SIDECAR_MSG_HEADER_SIZE));
        else {
          const status = arg1 | 0;
          this.#pending.fail(
            arg0,
            new SidecarError('ERR_SIDECAR_PLUGIN', `The plugin's process returned ${status} for request ${arg0} without replying.`, { errno: status }),
          );
        }
        return;
      case MSG_EVENT:
        this.#deliverEvent(arg0, payload.subarray(SIDECAR_MSG_HEADER_SIZE), false);
        return;
      case MSG_PROCESS: {
        const fn = this.#o.host.process;
        if (fn !== undefined) this.#callHost('process', () => fn.call(this.#o.host, payload.subarray(SIDECAR_MSG_HEADER_SIZE), arg0));
        return;
      }
      case MSG_LOG: {
        const text = textDecoder.decode(payload.subarray(SIDECAR_MSG_HEADER_SIZE));
        this.#callHost('log', () => this.#o.host.log?.(arg0, text));
        this.emit('log', arg0, text);
        return;
      }
      case MSG_READY:
        this.#onReady();
        return;
      case MSG_DISPOSED:
        this.#callHost('dispose', () => this.#o.host.dispose?.());
        return;
      default:
        this.#protocolError = `the event ring carried a message of unknown kind ${kind}`;
    }
  }

  /** `data` is a view into the ring when !copied; host.event gets it as is, everything else gets a copy. */
  #deliverEvent(id: number, data: Uint8Array, copied: boolean): void {
    if (!this.#ready) {
      this.#preReady.push({ id, data: data.slice() }); // events from init wait for host.init()
      return;
    }
    const fn = this.#o.host.event;
    if (fn !== undefined) this.#callHost('event', () => fn.call(this.#o.host, id, data));
    if (this.listenerCount('event') === 0 && !this.#streams.active) return;
    const copy = copied ? data : data.slice();
    this.emit('event', id, copy);
    this.#streams.push({ id, data: copy });
  }

  /** Runs a host callback; an exception becomes an 'error' event instead of breaking the pump. */
  #callHost(name: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      const wrapped = new SidecarError('ERR_INVALID_ARG', `The host callback '${name}' threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      process.nextTick(() => this.emit('error', wrapped));
    }
  }

  #onProtocolError(runner: Runner): void {
    const message = `The sidecar broke the protocol: ${this.#protocolError ?? 'unknown error'}.`;
    process.nextTick(() => this.emit('error', new SidecarError('ERR_RING_CORRUPT', message)));
    this.#killReason = 'corrupt';
    if (!runner.kill() && this.mode === 'thread' && this.#phase !== 'stopped') {
      // A thread cannot be killed; ask it to end (it drains and disposes) and let the exit path report it.
      this.#phase = 'stopping';
      this.#ch.commands.closeProducer();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Faults, exits and stopping.

  #onHung(call: number, stuckMs: number): void {
    const what = CALL_NAMES[call] ?? 'a';
    if (this.#runner?.kill()) {
      this.#killReason = 'watchdog';
      return;
    }
    const error = new SidecarError(
      'ERR_TIMEOUT',
      `The plugin's ${what} call has been running for ${stuckMs} ms, longer than the watchdog's ${this.#o.watchdogMs} ms; a thread cannot be killed (use mode 'process').`,
    );
    process.nextTick(() => this.emit('error', error));
  }

  #describeExit(runner: Runner, exit: RunnerExit): SidecarExit {
    const control = this.#ch.control;
    const reasonCode = exit.reason !== EXIT_NONE ? exit.reason : control.exitReason;
    const message = control.errorMessage() ?? exit.error?.message;
    let reason: SidecarExitReason;
    if (this.#killReason !== undefined) reason = this.#killReason;
    else if (reasonCode === EXIT_NORMAL && exit.signal === null) reason = 'stopped';
    else if (reasonCode in START_FAILURES && !this.#ready) reason = 'start-failed';
    else if (reasonCode === EXIT_CORRUPT) reason = 'corrupt';
    else if (reasonCode === EXIT_PARENT_DIED) reason = 'parent-died';
    else reason = 'crashed';
    const result: SidecarExit = { reason, code: exit.code, signal: exit.signal, restarting: false };
    if (message !== undefined) result.message = message;
    else if (reason === 'crashed' || reason === 'watchdog') {
      result.message = exit.signal !== null
        ? `The sidecar process ${runner.pid} was killed by ${exit.signal}.`
        : `The sidecar process ${runner.pid} exited with code ${String(exit.code)}.`;
    }
    return result;
  }

  #startError(info: SidecarExit, reasonCode: number): SidecarError {
    const general = START_FAILURES[reasonCode];
    let message = info.message ?? general;
    if (message === undefined) {
      message = info.signal !== null
        ? `The sidecar process was killed by ${info.signal} before the plugin finished its init.`
        : `The sidecar ended (${info.code === null ? 'thread' : `exit code ${info.code}`}) before the plugin finished its init.`;
    }
    return reasonCode === EXIT_INIT_FAILED
      ? new SidecarError('ERR_SIDECAR_START', message, { errno: this.#ch.control.errorCode })
      : new SidecarError('ERR_SIDECAR_START', message);
  }

  #onRunnerExit(runner: Runner, exit: RunnerExit): void {
    if (runner !== this.#runner) return;
    // Everything the sidecar published before it ended is delivered first (its last events, replies, dispose).
    this.#pumpAbort.abort();
    try {
      this.#ch.events.drain(this.#onMessageFn);
    } catch {
      // a corrupt ring: the exit below reports the end
    }
    this.#watchdog?.stop();
    this.#runner = undefined;
    const info = this.#describeExit(runner, exit);
    const reasonCode = exit.reason !== EXIT_NONE ? exit.reason : this.#ch.control.exitReason;

    if (this.#startSettle !== undefined) {
      const settle = this.#startSettle;
      this.#startSettle = undefined;
      const error = this.#startError(info, reasonCode); // reads the control block: before finalize unmaps it
      this.#finalize(info, true);
      settle.reject(error);
      return;
    }

    const crashed = info.reason !== 'stopped';
    const failure = (id: number): SidecarError =>
      crashed
        ? new SidecarError('ERR_SIDECAR_CRASHED', `The sidecar ended (${info.reason}) before replying to request ${id}. ${info.message ?? ''}`.trim())
        : new SidecarError('ERR_SIDECAR_STOPPED', `The sidecar stopped without replying to request ${id}.`);
    this.#pending.failAll(failure);

    if (crashed && this.#phase !== 'stopping' && this.#canRestart()) {
      info.restarting = true;
      this.emit('exit', info);
      this.#scheduleRestart();
      return;
    }
    this.#finalize(info, false);
  }

  #canRestart(): boolean {
    const policy = this.#o.restart;
    if (policy === undefined || this.mode !== 'process') return false;
    if (performance.now() - this.#startedAt >= policy.resetAfterMs) this.#restarts = 0;
    return this.#restarts < policy.maxRestarts;
  }

  #scheduleRestart(): void {
    const policy = this.#o.restart!;
    const delay = Math.min(policy.backoffMs * 2 ** this.#restarts, policy.maxBackoffMs);
    this.#restarts++;
    this.#phase = 'restarting';
    this.emit('restart', { attempt: this.#restarts, delayMs: delay });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#phase !== 'restarting') return;
      try {
        this.#launch();
      } catch (error) {
        this.#finalize({ reason: 'crashed', code: null, signal: null, restarting: false, message: `The sidecar could not be restarted: ${(error as Error).message}` }, false);
      }
    }, delay);
  }

  /** The end: nothing runs on the region any more. Fails what is left, unmaps the region, reports the exit. */
  #finalize(info: SidecarExit, starting: boolean, keepRegion = false): void {
    if (this.#phase === 'stopped') return;
    this.#phase = 'stopped';
    this.#lastExit = info;
    this.#watchdog?.stop();
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer);
    this.#pumpAbort.abort();
    const error =
      info.reason === 'stopped'
        ? new SidecarError('ERR_SIDECAR_STOPPED', 'The sidecar stopped before the command could be sent.')
        : new SidecarError('ERR_SIDECAR_CRASHED', `The sidecar ended (${info.reason}) before the command could be sent.`);
    this.#lifeAbort.abort(error);
    this.#failBacklog(error);
    this.#pending.failAll((id) =>
      info.reason === 'stopped'
        ? new SidecarError('ERR_SIDECAR_STOPPED', `The sidecar stopped without replying to request ${id}.`)
        : new SidecarError('ERR_SIDECAR_CRASHED', `The sidecar ended (${info.reason}) before replying to request ${id}.`),
    );
    this.#streams.end();
    // The runner writes its own copy of the eventfd (a thread kept alive by keepRegion included): closing is safe.
    this.#eventParker.close();
    if (!keepRegion) this.#ch.region.close();
    if (!starting) this.emit('exit', info);
    this.#finish(info);
  }

  async #stop(timeout: number): Promise<SidecarExit> {
    if (this.#phase === 'stopped') return this.#lastExit!;
    if (this.#startSettle !== undefined) {
      // stop() before start() resolved cannot happen through the public API (start resolves first); be safe anyway.
      await this.#finished;
      return this.#lastExit!;
    }
    const wasRestarting = this.#phase === 'restarting' && this.#runner === undefined;
    this.#phase = 'stopping';
    if (wasRestarting) {
      this.#finalize({ reason: 'stopped', code: null, signal: null, restarting: false }, false);
      return this.#lastExit!;
    }
    let timedOut = false;
    let onTimeout!: () => void;
    const expired = new Promise<undefined>((resolve) => {
      onTimeout = () => resolve(undefined);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (this.#runner?.kill()) this.#killReason = 'stop-timeout';
      this.#backlogIdle?.();
      onTimeout();
    }, timeout);
    try {
      // Queued commands go into the ring first: stop() drains everything that was sent.
      if (this.#backlog.length > 0 || this.#flushing) {
        await new Promise<void>((resolve) => {
          this.#backlogIdle = () => {
            if (timedOut || (this.#backlog.length === 0 && !this.#flushing)) resolve();
          };
          this.#backlogIdle();
        });
        this.#backlogIdle = undefined;
      }
      if (this.#phase === 'stopping') this.#ch.commands.closeProducer(); // the loop drains, disposes and ends
      if (this.mode === 'process') return await this.#finished; // a kill after the timeout ends it for sure
      const ended = await Promise.race([this.#finished, expired]);
      if (ended !== undefined) return ended;
      const error = new SidecarError(
        'ERR_TIMEOUT',
        `The sidecar thread did not finish within ${timeout} ms (a plugin call may be hung); a thread cannot be killed, so it keeps running and its shared memory stays mapped.`,
      );
      this.#finalize({ reason: 'stop-timeout', code: null, signal: null, restarting: false, message: error.message }, false, true);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
