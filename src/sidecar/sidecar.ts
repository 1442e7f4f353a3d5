/**
 * Sidecar: native code (a plugin, docs/plugin-abi.md) on its own thread or in its own process, fed with commands
 * through a shared-memory ring and answering with events and replies through another. See docs/architecture.md for
 * the flows, the threading model and who owns which memory, and docs/reliability.md for what happens to every command
 * and request under every fault (the delivery contract this class enforces).
 *
 * Every error it throws, rejects with or emits is a SidecarError with a `code` (src/errors.ts), its argument errors
 * (ERR_INVALID_ARG, ERR_RING_TOO_BIG) included; 'error' events carry the cause of a fault they report.
 *
 * Threading contract of the whole class: every method must be called on the JavaScript thread that called
 * Sidecar.start() (the owner thread); every event, host callback and promise settles on that thread, never on a
 * native thread. Host callbacks (options.host) and the 'event'/'log' events run in the order the native side
 * produced the messages.
 */
import { EventEmitter } from 'node:events';
import { NativeSidecarError, SidecarError, asErrorClass } from '../errors.js';
import { badArg, commandType, knownKeys, optionsObject, requestSignal, requestTimeout, stopArgs, toBytes } from './args.js';
import { EventfdParker } from '../native/eventfd-parker.js';
import { defaultParker, type Parker } from '../ring/parker.js';
import type { Ring } from '../ring/ring.js';
import { createChannel, nextSidecarIndex, type SidecarChannel } from './channel.js';
import { STAT_COMMANDS_SENT, STAT_MESSAGES_RECEIVED, STAT_PENDING_REQUESTS } from './host-stats.js';
import { EventStreams, type SidecarEvent } from './event-stream.js';
import { CommandJournal } from './journal.js';
import {
  COMMAND_WITHDRAWN,
  EXIT_ABI_MISMATCH,
  EXIT_BAD_REGION,
  EXIT_CORRUPT,
  EXIT_INIT_FAILED,
  EXIT_LOAD_FAILED,
  EXIT_NONE,
  EXIT_NORMAL,
  EXIT_NOT_PLUGIN,
  EXIT_PARENT_DIED,
  EXIT_RESOURCE_LIMIT,
  EXIT_SANDBOX,
  EXIT_SCHEDULING,
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
import { PendingRequests, type PendingRequest } from './pending.js';
import { planRecovery, type RecoveryPlan } from './recovery.js';
import { PROCESS_PLUGIN_FD_PATH, ProcessRunner, ThreadRunner, type Runner, type RunnerExit } from './runner.js';
import { Watchdog } from './watchdog.js';
import { describeSandbox, type SandboxReport } from './sandbox-report.js';
import { PluginFile } from '../sandbox/plugin-file.js';
import { cancelRequest, requestWithId, type CancelOutcome, type IdentifiedRequest } from './internal.js';
import { describeScheduling, PumpPin, runtimeScheduling, type RuntimeScheduling, type SchedulingReport } from './scheduling.js';

/** Why a sidecar ended. */
export type SidecarExitReason =
  | 'stopped' // stop() ended it normally: dispose ran (every command was processed, unless stop({ drain: false }))
  | 'crashed' // the process died (signal or unexpected exit code)
  | 'watchdog' // the watchdog found a hung plugin call and killed the process
  | 'stop-timeout' // stop() did not finish in time and killed the process
  | 'start-failed' // the plugin could not be loaded or its init failed (first start only)
  | 'corrupt' // a ring failed validation or carried a malformed message
  | 'parent-died' // the sidecar process saw its host disappear (only seen by tests that fake it)
  | 'resource-limit' // process mode: the plugin died on a sandbox limit (memory, CPU time); handled like a crash
  | 'cancelled'; // process mode: a SidecarPool killed the process to stop a cancelled running request; restarted at once

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
  /**
   * Commands that send() or request() accepted (into the ring or the backlog) and that will never be processed:
   * withdrawn by stop({ drain: false }), left behind by a stop timeout or a final crash, or still queued at the end.
   * Their requests and queued sends were rejected. 0 on a normal stop. Counted on the final exit (restarting: false);
   * 0 on the exits of a restart.
   */
  dropped: number;
}

/** The argument of the 'poison' event: a command that killed the sidecar twice, quarantined (never delivered again). */
export interface SidecarPoison {
  /** The command type. */
  type: number;
  /** The command bytes (a copy). */
  data: Uint8Array;
  /** The request id, or 0 for a send(). Its request rejected with ERR_SIDECAR_POISON. */
  requestId: number;
  /** How the sidecar died the second time. */
  exit: SidecarExit;
}

/** The argument of the 'restart' event: a restart is scheduled after a crash (restart policy). */
export interface SidecarRestart {
  /** Restarts counted against options.restart.maxRestarts so far, this one included (a poison restart is not counted). */
  attempt: number;
  /** Milliseconds until the new sidecar starts (the backoff). */
  delayMs: number;
}

/**
 * The events of a Sidecar and the arguments their listeners get. `sidecar.on()`, `once()`, `off()`, `emit()` and the
 * other EventEmitter methods are typed by this map: a misspelt event name or a listener with other parameter types
 * does not compile. All of them are emitted on the owner thread.
 */
export interface SidecarEventMap {
  /** The plugin emitted event `id`; `data` is a copy the listener owns. */
  event: [id: number, data: Uint8Array];
  /** The plugin logged a line (level: 0 debug, 1 info, 2 warn, 3 error). */
  log: [level: number, text: string];
  /** The sidecar ended: for good (`restarting: false`, the last event) or before a restart (`restarting: true`). */
  exit: [exit: SidecarExit];
  /**
   * A fault that rejects no promise (a host callback threw: ERR_CALLBACK_THREW; a peer broke the protocol:
   * ERR_RING_CORRUPT; a hung thread-mode call: ERR_TIMEOUT). Without an 'error' listener it is a process warning
   * instead: it never ends Node.
   */
  error: [error: SidecarError];
  /** A restart is scheduled after a crash. */
  restart: [restart: SidecarRestart];
  /** A command killed the sidecar twice and was quarantined. */
  poison: [poison: SidecarPoison];
  /** The plugin's init returned (after host.init()): at the first start and after every restart. */
  ready: [];
}

export interface RequestOptions {
  /** Command type passed to the plugin's process (0 … 2^32 − 1, default 0). */
  type?: number;
  /**
   * Milliseconds before the request rejects with ERR_TIMEOUT: an integer from 1 to 2^31 − 1. Left out (or
   * undefined): no timeout. 0 is refused with ERR_INVALID_ARG — it would neither mean "no timeout" nor be of use as
   * "at once", since no reply can arrive before the command was even read. A command the plugin has not started yet
   * is withdrawn (it never runs); one it has started runs to completion (its late reply is ignored). The message says
   * which.
   */
  timeout?: number;
  /** Rejects the request with ERR_ABORTED when it aborts; withdraws the command like a timeout. */
  signal?: AbortSignal;
}

export interface SendOptions {
  /** Command type passed to the plugin's process (0 … 2^32 − 1, default 0). */
  type?: number;
}

export interface StopOptions {
  /**
   * Milliseconds before a sidecar that has not ended is killed (process mode) or given up (thread mode): an integer
   * from 1 to 2^31 − 1 (0 is refused with ERR_INVALID_ARG). Default options.stopTimeoutMs.
   */
  timeout?: number;
  /**
   * true (default): every command accepted before stop() is processed first. false: commands the plugin has not
   * started are withdrawn and counted in `dropped` (their requests reject with ERR_SIDECAR_STOPPED); the command
   * running now finishes, then dispose runs.
   */
  drain?: boolean;
}

type Phase = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

interface BacklogItem {
  type: number;
  id: number;
  bytes: Uint8Array;
  resolve: (() => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
  /** Withdrawn while queued (its request timed out or aborted): skipped by the flush. */
  withdrawn: boolean;
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
/** Drain batches in a row (park mode, or MANY_PENDING) before the pump lets the event loop run other callbacks (I/O, timers). */
const TURNS_BEFORE_YIELD = 16;
/**
 * With at least this many requests pending, a spinning pump drains again after a microtask turn rather than an
 * event-loop turn (as in park mode): the replies come as a stream and the event-loop turn per small batch was the
 * largest cost per request (pipelined: ~0.9 µs of main-thread CPU per request with a turn per batch, ~0.5 µs in park
 * mode's bigger batches, `npm run bench -- sidecar`). Below it, the turn keeps a caller's deeper continuations ahead
 * of the pump's synchronous spin.
 */
const MANY_PENDING = 64;
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

const SEND_KEYS = knownKeys<SendOptions>({ type: true });
const REQUEST_KEYS = knownKeys<RequestOptions>({ type: true, timeout: true, signal: true });
const STOP_KEYS = knownKeys<StopOptions>({ timeout: true, drain: true });

const START_FAILURES: Record<number, string> = {
  [EXIT_BAD_REGION]: 'The sidecar rejected its shared region.',
  [EXIT_LOAD_FAILED]: 'The plugin could not be loaded.',
  [EXIT_NOT_PLUGIN]: 'The library is not a native-sidecar plugin.',
  [EXIT_ABI_MISMATCH]: 'The plugin was built for another plugin ABI version.',
  [EXIT_INIT_FAILED]: "The plugin's init failed.",
  [EXIT_USAGE]: 'The sidecar executable was started with bad arguments.',
  [EXIT_SANDBOX]: 'The sidecar process could not be confined.',
  [EXIT_SCHEDULING]: 'The kernel refused the requested scheduling.',
};

export class Sidecar extends EventEmitter<SidecarEventMap> {
  /** 'thread' or 'process'. */
  readonly mode: SidecarMode;

  readonly #o: ResolvedSidecarOptions;
  /** The command ring's parker (this side waits for space, which the runtime signals by FUTEX_WAKE). Shared default. */
  readonly #commandParker: Parker;
  /**
   * The event ring's parker: the pump sleeps in this thread's event loop on its eventfd, which the runtime (thread or
   * process, given the fd at every launch) writes on each wake of the event-ring consumer. Owned; closed by #finalize.
   */
  readonly #eventParker: EventfdParker;
  /** The shared memory the current runner works on. A restart replaces it with a fresh one (#recover). */
  #ch: SidecarChannel;
  /** What this host wrote into #ch's command ring (host memory: trusted). Replaced with #ch. */
  #journal: CommandJournal;
  /** #ch's first command is a redelivery (§8.3): if it kills the sidecar again it is poison. */
  #firstIsRedelivery = false;
  /** Aborts when #ch is replaced or the sidecar ends: wakes a flush waiting for room in the old command ring. */
  #chAbort = new AbortController();
  readonly #pending = new PendingRequests((entry) => this.#withdraw(entry));
  readonly #streams: EventStreams;
  readonly #backlog: BacklogItem[] = [];
  #backlogBytes = 0;
  readonly #onMessageFn = (kind: number, offset: number, length: number): void => this.#onMessage(kind, offset, length);
  readonly #publishCommandsFn = (): void => this.#publishCommands();
  /** A #publishCommands microtask is queued and has not run yet. */
  #publishQueued = false;
  /** Commands staged in the command ring since the last publication. */
  #unpublished = 0;

  #phase: Phase = 'starting';
  #runner: Runner | undefined;
  #watchdog: Watchdog | undefined;
  #pumpAbort = new AbortController();
  #ready = false;
  #preReady: SidecarEvent[] = [];
  #preReadyBytes = 0;
  #flushing = false;
  #startedAt = 0;
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #killReason: SidecarExitReason | undefined;
  /** Why this host ended the current runner (protocol error, init events over the limit): a sentence for the exit. */
  #fault: string | undefined;
  #protocolError: string | undefined;
  #startSettle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #stopPromise: Promise<SidecarExit> | undefined;
  /** stop() was called with drain: false. */
  #stopWithoutDrain = false;
  /** Commands dropped so far (counted into the final exit's `dropped`). */
  #dropped = 0;
  /** Commands processed by the runners of earlier channels. */
  #processedBefore = 0;
  #finished: Promise<SidecarExit>;
  #finish!: (exit: SidecarExit) => void;
  #lastExit: SidecarExit | undefined;
  /** The open, checked plugin file every run loads (owned; closed by #finalize). */
  readonly #plugin: PluginFile;
  #sandboxReport: SandboxReport | null = null;
  /** This Sidecar's number in the process, written into each of its regions for `native-sidecar stat` (§8.4). */
  readonly #index = nextSidecarIndex();
  /** options.scheduling.pumpCpus in force on this thread (restored by #finalize), or null. */
  #pumpPin: PumpPin | null = null;
  /** The runtime thread's scheduling every launch passes on (the pump's previous CPUs as default CPUs), or null. */
  #runtimeScheduling: RuntimeScheduling | null = null;
  #schedulingReport: SchedulingReport | null = null;

  private constructor(o: ResolvedSidecarOptions, commandParker: Parker, plugin: PluginFile) {
    super();
    this.mode = o.mode;
    this.#o = o;
    this.#plugin = plugin;
    this.#commandParker = commandParker;
    this.#streams = new EventStreams(o.eventStreamHighWaterMark);
    this.#eventParker = new EventfdParker();
    try {
      this.#ch = createChannel(o, commandParker, this.#eventParker, 0, this.#index);
    } catch (error) {
      this.#eventParker.close();
      throw error;
    }
    this.#pending.mirrorTo(this.#ch.stats);
    this.#journal = new CommandJournal(o.commandRingBytes);
    this.#finished = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  /**
   * Starts a sidecar: creates its shared region, starts the native loop (thread or process), waits until the
   * plugin's init returned and calls host.init(). Owner thread: the calling thread. Rejects with ERR_INVALID_ARG for
   * bad options — a wrong value, or a key that is not an option (at any level but `host`), named as
   * 'options.restart.maxRestart' with the closest known key suggested — ERR_SIDECAR_START when the plugin is missing, is not a plugin, has another ABI version, fails its
   * init, emits more than maxInitEventBytes during init or does not finish init within startTimeoutMs, and
   * ERR_SCHEDULING_DENIED when the kernel refuses options.scheduling (`errno` its answer) — in every such
   * case nothing is left behind (no thread, process, mapping or descriptor; the pump thread's CPUs restored).
   */
  static async start(options: SidecarOptions): Promise<Sidecar> {
    const o = resolveSidecarOptions(options);
    const plugin = PluginFile.open(o.plugin, o.trustPluginFile);
    let sidecar: Sidecar;
    try {
      sidecar = new Sidecar(o, defaultParker(), plugin);
    } catch (error) {
      plugin.close();
      // The region or the eventfd could not be made (ERR_SYSTEM, ERR_ADDON_MISSING): reported as the Sidecar's own.
      throw asErrorClass(SidecarError, error);
    }
    if (o.scheduling !== null) {
      try {
        if (o.scheduling.pumpCpus !== null) sidecar.#pumpPin = new PumpPin(o.scheduling.pumpCpus);
        sidecar.#runtimeScheduling = runtimeScheduling(o.scheduling, sidecar.#pumpPin);
      } catch (error) {
        sidecar.#finalize({ reason: 'start-failed', code: null, signal: null, restarting: false, dropped: 0 }, true);
        throw error;
      }
    }
    await sidecar.#launchFirst(); // a failure finalizes the sidecar, which closes the plugin file
    return sidecar;
  }

  /**
   * What options.scheduling put in force: the runtime thread's CPUs, policy, priority and nice as the runtime reported
   * them applied when it last started, and the pump thread's CPUs; null without options.scheduling and before the
   * first start finished.
   */
  get scheduling(): SchedulingReport | null {
    return this.#schedulingReport;
  }

  /**
   * Process mode: the confinement the sidecar process reported when it last started (docs/security.md), or null in
   * thread mode, with sandbox: false, and before the first start finished.
   */
  get sandbox(): SandboxReport | null {
    return this.#sandboxReport;
  }

  /** The pid running the native loop: the sidecar process in process mode, this process in thread mode; -1 between runs. */
  get pid(): number {
    return this.#runner?.pid ?? -1;
  }

  /** Commands processed by the plugin so far, across restarts (informational). Readable after the end. */
  get processedCount(): number {
    if (this.#phase === 'stopped') return this.#processedBefore;
    return this.#processedBefore + this.#ch.control.processed;
  }

  /** Largest command payload in bytes (the command ring's max payload minus the 8-byte message header). */
  get maxCommandBytes(): number {
    return this.#ch.commands.maxPayload - SIDECAR_MSG_HEADER_SIZE;
  }

  /** Requests waiting for their reply. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /** Commands waiting in the in-memory backlog (the ring was full, or a restart is under way). */
  get queuedCommands(): number {
    return this.#backlog.length;
  }

  /**
   * Sends one command (no reply expected). The bytes are copied into the command ring before the promise
   * resolves; when the ring is full the command waits in the in-memory backlog (order is kept) and the promise
   * resolves once it is in the ring — await it to apply backpressure. A resolved send is processed before stop()
   * resolves (once; once more, flagged, if a sidecar dies inside its process()), or counted in the exit's `dropped`
   * (docs/reliability.md). Throws ERR_INVALID_ARG for bad data (a
   * detached buffer included) or bad options (an unknown key included) and ERR_RING_TOO_BIG for a command larger than maxCommandBytes — a throw leaves nothing
   * behind; rejects with ERR_QUEUE_FULL when the backlog is at its bound, ERR_SIDECAR_STOPPED after stop() and
   * ERR_SIDECAR_CRASHED when the sidecar died for good.
   */
  send(data: ArrayBufferView | ArrayBuffer | string, options?: SendOptions): Promise<void> {
    const bytes = this.#checkCommand(data);
    const type = commandType(optionsObject(options, SEND_KEYS));
    if (!this.#accepting()) return Promise.reject(this.#notAccepting());
    if (this.#backlog.length === 0 && this.#writeCommand(type, 0, bytes) >= 0) return RESOLVED;
    const full = this.#queueFull(bytes.byteLength);
    if (full !== undefined) return Promise.reject(full);
    return new Promise((resolve, reject) => {
      this.#enqueue({ type, id: 0, bytes: bytes.slice(), resolve, reject, withdrawn: false });
    });
  }

  /**
   * Sends one command and resolves with the plugin's reply (a copy the caller owns). Replies are matched by request
   * id, so any number of requests may be outstanding. Rejects with ERR_TIMEOUT / ERR_ABORTED (options; the command is
   * withdrawn if the plugin has not started it), ERR_SIDECAR_PLUGIN when the plugin's process returned non-zero
   * without replying (`errno` holds the value), ERR_SIDECAR_POISON when the command killed the sidecar twice,
   * ERR_QUEUE_FULL when the backlog is at its bound, ERR_SIDECAR_CRASHED when the sidecar dies for good before
   * replying, ERR_SIDECAR_STOPPED when it stops first. With a restart policy a crash does not reject it: the restarted
   * sidecar answers. A rejected request never runs afterwards. Throws (leaving nothing behind) ERR_INVALID_ARG and
   * ERR_RING_TOO_BIG for bad arguments (an unknown option key, and `timeout: 0`, included).
   */
  request(data: ArrayBufferView | ArrayBuffer | string, requestOptions?: RequestOptions): Promise<Uint8Array> {
    const bytes = this.#checkCommand(data);
    const options = optionsObject(requestOptions, REQUEST_KEYS);
    const type = commandType(options);
    const timeout = requestTimeout(options?.timeout);
    const signal = requestSignal(options?.signal);
    if (!this.#accepting()) return Promise.reject(this.#notAccepting());
    if (signal?.aborted) return Promise.reject(new SidecarError('ERR_ABORTED', 'The request was aborted by its signal before it was sent.', { cause: signal.reason }));
    return this.#submit(bytes, type, timeout, signal).promise;
  }

  /** Writes a checked request into the ring (or the backlog) and registers it; id 0 when it was refused. */
  #submit(bytes: Uint8Array, type: number, timeout: number | undefined, signal: AbortSignal | undefined): IdentifiedRequest {
    // The pending entry is made only once the command is in the ring or the backlog: nothing to undo on a failure.
    const id = this.#pending.nextId();
    const ordinal = this.#backlog.length === 0 ? this.#writeCommand(type, id, bytes) : -1;
    if (ordinal >= 0) return { id, promise: this.#pending.add(id, ordinal, timeout, signal) };
    const full = this.#queueFull(bytes.byteLength);
    if (full !== undefined) return { id: 0, promise: Promise.reject(full) };
    // Registered before it is queued: the flush may write it at once and then records its ordinal in the entry.
    const promise = this.#pending.add(id, -1, timeout, signal);
    this.#enqueue({ type, id, bytes: bytes.slice(), resolve: undefined, reject: undefined, withdrawn: false });
    return { id, promise };
  }

  /**
   * An async iterator over the events emitted from now on (copies), ending when the sidecar stops. An iterator that
   * holds options.eventStreamHighWaterMark unconsumed events pauses the reading of the event ring (backpressure).
   */
  events(): AsyncIterableIterator<SidecarEvent> {
    return this.#streams.iterator();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<SidecarEvent> {
    return this.events();
  }

  /**
   * Stops the sidecar: commands already accepted (including queued ones, and across a restart that is under way or
   * that a crash during the drain causes, when the restart policy allows it) are processed, the plugin's dispose runs,
   * then the thread is joined or the process has exited, and the shared region is unmapped. Resolves with the exit.
   * `drain: false` withdraws the commands the plugin has not started (counted in `dropped`). In process mode, a
   * sidecar that has not finished within `timeout` ms (default options.stopTimeoutMs) is killed, the result says
   * 'stop-timeout' and counts what was dropped. In thread mode a thread cannot be killed: after the timeout stop()
   * rejects with ERR_TIMEOUT and the thread keeps its memory (it is leaked, not unmapped under running code).
   * Idempotent: every call returns the first call's promise. Requests still unanswered when the sidecar ends reject
   * with ERR_SIDECAR_STOPPED (or ERR_SIDECAR_CRASHED when it crashed for good). Throws ERR_INVALID_ARG for bad options
   * (an unknown key, and `timeout: 0`, included).
   */
  stop(stopOptions?: StopOptions): Promise<SidecarExit> {
    const { timeout, drain } = stopArgs(optionsObject(stopOptions, STOP_KEYS), this.#o.stopTimeoutMs);
    this.#stopPromise ??= this.#stop(timeout, drain);
    return this.#stopPromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * For SidecarPool (src/sidecar/internal.ts; not public): request() of checked `bytes` that also returns the request
   * id, for [cancelRequest]. No timeout or signal: the pool owns cancellation. Owner thread. Never throws; rejects
   * like request().
   */
  [requestWithId](bytes: Uint8Array, type: number): IdentifiedRequest {
    if (!this.#accepting()) return { id: 0, promise: Promise.reject(this.#notAccepting()) };
    return this.#submit(bytes, type, undefined, undefined);
  }

  /**
   * For SidecarPool (not public): cancels request `id` (from [requestWithId]). A command the plugin has not started is
   * withdrawn and its request rejects with `error` ('withdrawn': it never runs). One inside process() — with `kill`,
   * in process mode, while a runner is alive — rejects with `error` and the process is killed ('killed'): the exit that
   * follows has reason 'cancelled' and restarts at once, whatever the restart policy, without counting against its
   * budget or waiting for its backoff; the killed command is not carried over (its request is no longer pending,
   * reliability.md rule 5), the commands behind it are (rule 4). Otherwise ('running': thread mode, no `kill`, or the
   * command already finished and its reply is on the way) the request stays pending and settles as usual — the caller
   * ignores it. 'settled': it was not pending. Owner thread; never throws.
   */
  [cancelRequest](id: number, error: SidecarError, kill: boolean): CancelOutcome {
    const entry = this.#pending.get(id);
    if (entry === undefined) return 'settled';
    if (entry.ordinal < 0) {
      const item = this.#backlog.find((i) => i.id === id);
      if (item !== undefined) item.withdrawn = true;
      this.#pending.fail(id, error);
      return 'withdrawn';
    }
    if (this.#phase !== 'stopped' && this.#tryWithdraw(entry.ordinal, id)) {
      this.#pending.fail(id, error);
      return 'withdrawn';
    }
    const completed = this.#journal.widen(this.#ch.control.completed);
    const finished = completed === undefined || entry.ordinal < completed;
    if (!kill || finished || this.mode !== 'process' || this.#runner === undefined) return 'running';
    this.#pending.fail(id, error);
    if (this.#runner.kill()) this.#killReason ??= 'cancelled';
    return 'killed';
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
      this.#finalize({ reason: 'start-failed', code: null, signal: null, restarting: false, dropped: 0 }, true);
      throw new SidecarError('ERR_SIDECAR_START', `The sidecar could not be started: ${(error as Error).message}`, { cause: error });
    }
    return started.finally(() => clearTimeout(timer));
  }

  /** Starts a runner on the current channel (first start or restart) and the event pump that serves it. */
  #launch(): void {
    this.#ready = false;
    this.#preReady = [];
    this.#preReadyBytes = 0;
    this.#killReason = undefined;
    this.#fault = undefined;
    this.#protocolError = undefined;
    const ch = this.#ch;
    const runner =
      this.mode === 'thread'
        ? new ThreadRunner(ch.region, this.#plugin, this.#o.waitPolicy, this.#eventParker.fd, this.#runtimeScheduling)
        : new ProcessRunner(ch.region, this.#plugin, this.#o.waitPolicy, this.#eventParker.fd, this.#o.sandbox, this.#runtimeScheduling);
    this.#runner = runner;
    this.#startedAt = performance.now();
    this.#pumpAbort = new AbortController();
    void this.#pump(runner, ch, this.#pumpAbort.signal);
    if (this.#o.watchdogMs !== undefined) {
      this.#watchdog = new Watchdog(ch.control, this.#o.watchdogMs, (call, ms) => this.#onHung(call, ms));
      this.#watchdog.start();
    }
    void runner.exited.then((exit) => {
      try {
        this.#onRunnerExit(runner, exit);
      } catch (error) {
        // A bug here must not become an unhandled rejection: report it and end the sidecar.
        this.#emitError(new SidecarError('ERR_INVALID_STATE', `The sidecar's exit handling failed: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
        this.#finalize({ reason: 'crashed', code: exit.code, signal: exit.signal, restarting: false, dropped: 0 }, false);
      }
    });
    if (this.#phase === 'stopping') this.#closeWhenFlushed();
  }

  #onStartTimeout(): void {
    if (this.#startSettle === undefined) return;
    const settle = this.#startSettle;
    this.#startSettle = undefined;
    const error = new SidecarError('ERR_SIDECAR_START', `The plugin did not finish its init within ${this.#o.startTimeoutMs} ms.`);
    this.#phase = 'stopping';
    this.#killReason = 'start-failed'; // no restart: the exit that follows is the end
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
    if (this.#fault !== undefined) return; // this run is being ended (init events over the limit)
    this.#ready = true;
    // READY's record was published after the sidecar stored its sandbox words (runtime.c): they are visible now.
    if (this.#o.sandbox !== null) this.#sandboxReport = describeSandbox(this.#ch.control.sandbox, this.#ch.control.landlockAbi, this.#o.sandbox);
    if (this.#o.scheduling !== null) this.#schedulingReport = describeScheduling(this.#ch.control.sched, this.#runtimeScheduling, this.#pumpPin);
    if (this.#phase === 'starting' || this.#phase === 'restarting') this.#phase = 'running';
    this.#callHost('init', () => this.#o.host.init?.());
    const early = this.#preReady;
    this.#preReady = [];
    this.#preReadyBytes = 0;
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
    const exit = this.#lastExit;
    if (exit !== undefined && exit.reason !== 'stopped') {
      return new SidecarError('ERR_SIDECAR_CRASHED', `The sidecar ended for good (${exit.reason}) and accepts no more commands.${exit.message === undefined ? '' : ` ${exit.message}`}`);
    }
    return new SidecarError('ERR_SIDECAR_STOPPED', 'The sidecar was stopped (or is stopping) and accepts no more commands.');
  }

  #queueFull(length: number): SidecarError | undefined {
    if (this.#backlog.length < this.#o.maxQueue && this.#backlogBytes + length <= this.#o.maxQueueBytes) return undefined;
    return new SidecarError(
      'ERR_QUEUE_FULL',
      `The sidecar's backlog holds ${this.#backlog.length} commands (${this.#backlogBytes} bytes), its bound (options.maxQueue ${this.#o.maxQueue}, options.maxQueueBytes ${this.#o.maxQueueBytes}); await earlier send()s before sending more.`,
    );
  }

  #enqueue(item: BacklogItem): void {
    this.#backlog.push(item);
    this.#backlogBytes += item.bytes.byteLength;
    void this.#flushBacklog();
  }

  /**
   * Claims room for the message, writes its header and the bytes in place, commits, and records it in the journal.
   * Returns the command's ordinal, or -1 when it could not be written now (the ring is full, or broken — then the
   * current runner is being ended and a restart brings a fresh ring). Never leaves a claim open.
   */
  #writeCommand(type: number, id: number, bytes: Uint8Array): number {
    const ring = this.#ch.commands;
    let offset: number;
    try {
      offset = ring.claimAt(SIDECAR_MSG_HEADER_SIZE + bytes.byteLength);
    } catch (error) {
      this.#onCommandRingError(error);
      return -1;
    }
    if (offset < 0) return -1;
    const w = wordIndex(offset);
    const words = this.#ch.words;
    words[w + ARG0_WORD] = type;
    words[w + ARG1_WORD] = id; // the claim word: the host's value (§8.3)
    try {
      if (bytes.byteLength > 0) this.#ch.bytes.set(bytes, offset + SIDECAR_MSG_HEADER_SIZE);
    } catch (error) {
      ring.abort(); // a buffer detached under us cannot happen on one thread, but never leave a claim open
      throw badArg('data', 'a readable buffer', bytes);
    }
    // Staged, not yet published: every command written in this turn of the microtask queue is published at once by
    // #publishCommands (one store of tail and one fence per batch instead of per command, and the runtime finds the
    // whole batch behind one acquire load of tail).
    ring.commit(MSG_COMMAND, false);
    const ordinal = this.#journal.record(id, w + ARG1_WORD);
    const staged = ++this.#unpublished;
    if (staged >= COMMANDS_PER_PUBLISH && (staged >= COMMANDS_PER_WAKE || !this.#runtimeParked())) {
      this.#publishNow(ring); // a long burst: let the runtime start on this part while the rest is written
    } else if (!this.#publishQueued) {
      this.#publishQueued = true;
      queueMicrotask(this.#publishCommandsFn);
    }
    return ordinal;
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
    const stats = this.#ch.stats;
    if (stats !== undefined) {
      // Display-only plain stores, once per batch (§8.4).
      stats[STAT_COMMANDS_SENT] = stats[STAT_COMMANDS_SENT]! + this.#unpublished;
      stats[STAT_PENDING_REQUESTS] = this.#pending.size;
    }
    this.#unpublished = 0;
    ring.publish(); // release of tail: pairs with the runtime's acquire load of tail (wire-format §5 edges #1/#2)
  }

  /**
   * Publishes the commands staged by #writeCommand: the release store of tail pairs with the runtime's acquire load
   * of tail (wire-format §5 edges #1/#2), and wakes a parked runtime. Runs as a microtask queued by the first command
   * of a batch, so it follows every command the same synchronous burst (for example the continuations of the replies
   * one drain settled) wrote.
   */
  #publishCommands(): void {
    this.#publishQueued = false;
    if (this.#phase === 'stopped' || this.#unpublished === 0) return;
    try {
      this.#publishNow(this.#ch.commands);
    } catch (error) {
      this.#onCommandRingError(error);
    }
  }

  /**
   * The command ring refused a claim or a publication: ERR_RING_CORRUPT (the sidecar wrote garbage into the ring's
   * consumer fields) ends the runner like any protocol error, and a restart brings a fresh ring; ERR_RING_CLOSED or
   * ERR_REGION_CLOSED mean the channel is already being replaced or ended.
   */
  #onCommandRingError(error: unknown): void {
    const code = (error as NativeSidecarError)?.code;
    if (code === 'ERR_RING_CLOSED' || code === 'ERR_REGION_CLOSED' || this.#runner === undefined) return;
    if (this.#protocolError !== undefined || this.#killReason !== undefined) return;
    this.#protocolError = `the command ring failed: ${(error as Error)?.message ?? String(error)}`;
    this.#onProtocolError(this.#runner);
  }

  /** Moves queued commands into the ring in order, waiting for room (per the wait policy) when it is full. */
  async #flushBacklog(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#backlog.length > 0 && this.#phase !== 'stopped') {
        const item = this.#backlog[0]!;
        if (!item.withdrawn) {
          let ordinal: number;
          try {
            ordinal = this.#writeCommand(item.type, item.id, item.bytes);
          } catch (error) {
            // Cannot happen (the bytes are this host's own copy), but a queued command must never be lost silently.
            this.#backlog.shift();
            this.#backlogBytes -= item.bytes.byteLength;
            if (item.id !== 0) this.#pending.fail(item.id, error);
            else item.reject?.(error);
            continue;
          }
          if (ordinal < 0) {
            await this.#waitForRoom(SIDECAR_MSG_HEADER_SIZE + item.bytes.byteLength);
            continue;
          }
          if (item.id !== 0) {
            const entry = this.#pending.get(item.id);
            if (entry !== undefined) entry.ordinal = ordinal;
          }
        }
        this.#backlog.shift();
        this.#backlogBytes -= item.bytes.byteLength;
        item.resolve?.();
      }
    } finally {
      this.#flushing = false;
      if (this.#phase === 'stopping') this.#closeWhenFlushed();
    }
  }

  /**
   * Waits until the current command ring has room for `length` bytes, or until it is replaced (a restart) or the
   * sidecar ends — the flush loop then looks again. Never rejects.
   */
  async #waitForRoom(length: number): Promise<void> {
    const ring = this.#ch.commands;
    const signal = this.#chAbort.signal;
    try {
      await ring.writable(length, { signal });
    } catch (error) {
      if (signal.aborted) return;
      this.#onCommandRingError(error);
      // The ring cannot take it (broken): wait for the fresh ring of the restart, or for the end.
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    }
  }

  /** During stop(): closes the command ring (the loop drains, disposes and ends) once the backlog is in it. */
  #closeWhenFlushed(): void {
    if (this.#runner === undefined || this.#backlog.length > 0 || this.#flushing) return;
    this.#ch.commands.closeProducer();
  }

  /**
   * A request's timeout or signal fired: withdraw its command so it never starts (wire-format §8.3), if the plugin has
   * not taken it yet. Returns the end of the rejection's sentence.
   */
  #withdraw(entry: PendingRequest): string {
    if (entry.ordinal < 0) {
      const item = this.#backlog.find((i) => i.id === entry.id);
      if (item !== undefined) item.withdrawn = true;
      return 'it was still queued in this process and will not be sent.';
    }
    if (this.#phase !== 'stopped' && this.#tryWithdraw(entry.ordinal, entry.id)) {
      if (entry.ordinal === 0 && this.#firstIsRedelivery) return 'its command had started in a sidecar that died (it may have done part of its work) and was withdrawn before its redelivery; it will not run again.';
      return 'its command was withdrawn before the plugin started it and will not run.';
    }
    return 'the plugin had already started its command, which may still complete (its reply will be ignored).';
  }

  /** CAS of the claim word of `ordinal` from the host's value `id` to WITHDRAWN; true when the host won. */
  #tryWithdraw(ordinal: number, id: number): boolean {
    const completed = this.#journal.widen(this.#ch.control.completed);
    // Below `completed` the record may already be released and its memory reused: never touch it (§8.3).
    if (completed === undefined || ordinal < completed || ordinal >= this.#journal.written) return false;
    const word = this.#journal.claimWordOf(ordinal);
    // acq_rel CAS on the claim word: pairs with the sidecar's CAS that claims the command (§8.3); one of them wins.
    return Atomics.compareExchange(this.#ch.words, word, id, COMMAND_WITHDRAWN) === id;
  }

  /** stop({ drain: false }): withdraws every command the plugin has not started and drops the backlog. */
  #withdrawAll(): void {
    const dropped = new SidecarError('ERR_SIDECAR_STOPPED', 'The sidecar was stopped with { drain: false } before the plugin started this request.');
    const completed = this.#journal.widen(this.#ch.control.completed) ?? this.#journal.written;
    for (let ordinal = completed; ordinal < this.#journal.written; ordinal++) {
      const id = this.#journal.idOf(ordinal);
      if (!this.#tryWithdraw(ordinal, id)) continue;
      this.#dropped++;
      if (id !== 0) this.#pending.fail(id, dropped);
    }
    this.#failBacklog(dropped, true);
  }

  /** Rejects and removes every backlog item; counts them as dropped when `count`. */
  #failBacklog(error: unknown, count: boolean): void {
    const items = this.#backlog.splice(0);
    this.#backlogBytes = 0;
    for (const item of items) {
      if (item.withdrawn) continue;
      if (count) this.#dropped++;
      if (item.id !== 0) this.#pending.fail(item.id, error);
      else item.reject?.(error);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Events (this thread is the event ring's only consumer).

  /** Waits for messages (per the wait policy, never blocking the event loop) and dispatches them, in order. */
  async #pump(runner: Runner, ch: SidecarChannel, signal: AbortSignal): Promise<void> {
    const ring = ch.events;
    const spins = this.#o.waitPolicy.mode !== 'park';
    try {
      for (;;) {
        let turns = 0;
        let drained: number;
        while ((drained = ring.drainAt(this.#onMessageFn, DRAIN_LIMIT)) > 0) {
          const stats = ch.stats;
          if (stats !== undefined) {
            // Display-only plain stores, once per drain (§8.4).
            stats[STAT_MESSAGES_RECEIVED] = stats[STAT_MESSAGES_RECEIVED]! + drained;
            stats[STAT_PENDING_REQUESTS] = this.#pending.size;
          }
          if (this.#protocolError !== undefined) return this.#onProtocolError(runner);
          if (this.#streams.full) {
            await this.#streams.whenRoom(); // backpressure from an events() iterator
          } else if ((spins && this.#pending.size < MANY_PENDING) || ++turns >= TURNS_BEFORE_YIELD) {
            turns = 0;
            await yieldToEventLoop();
          } else {
            // Park mode, or many requests in flight: drain again after the microtasks queued so far (the callers'
            // continuations and the publication of their commands) instead of a whole event-loop turn, so that a
            // stream of replies is taken in big batches.
            await RESOLVED;
          }
          if (signal.aborted) return;
        }
        if (this.#protocolError !== undefined) return this.#onProtocolError(runner);
        // Commands staged by the continuations that just ran are published before this side waits (their
        // publication microtask may come after this one): a spin must not wait for replies to unpublished commands.
        if (this.#publishQueued) this.#publishCommands();
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

  /** One message of the event ring: its payload is `length` bytes at byte `offset` of the region (Ring.drainAt). */
  #onMessage(kind: number, offset: number, length: number): void {
    if (length < SIDECAR_MSG_HEADER_SIZE) {
      this.#protocolError = `a message of kind ${kind} is ${length} bytes long, shorter than its header`;
      return;
    }
    const w = wordIndex(offset);
    const words = this.#ch.words;
    const arg0 = words[w + ARG0_WORD]!;
    const arg1 = words[w + ARG1_WORD]!;
    const dataStart = offset + SIDECAR_MSG_HEADER_SIZE;
    const dataEnd = offset + length;
    switch (kind) {
      case MSG_REPLY:
        // The reply is the caller's copy: one slice, no view of the ring in between.
        if (arg1 === 0) this.#pending.resolve(arg0, this.#ch.bytes.slice(dataStart, dataEnd));
        else {
          const status = arg1 | 0;
          this.#pending.fail(
            arg0,
            new SidecarError('ERR_SIDECAR_PLUGIN', `The plugin's process returned ${status} for request ${arg0} without replying.`, { errno: status }),
          );
        }
        return;
      case MSG_EVENT:
        this.#deliverEvent(arg0, this.#ch.bytes.subarray(dataStart, dataEnd), false);
        return;
      case MSG_PROCESS: {
        const fn = this.#o.host.process;
        if (fn !== undefined) this.#callHost('process', () => fn.call(this.#o.host, this.#ch.bytes.subarray(dataStart, dataEnd), arg0));
        return;
      }
      case MSG_LOG: {
        const text = textDecoder.decode(this.#ch.bytes.subarray(dataStart, dataEnd));
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
      // Events from init wait for host.init(), up to maxInitEventBytes; more ends this run (see #onInitOverflow).
      if (this.#fault !== undefined) return;
      this.#preReadyBytes += data.byteLength;
      if (this.#preReadyBytes > this.#o.maxInitEventBytes) return this.#onInitOverflow();
      this.#preReady.push({ id, data: data.slice() });
      return;
    }
    const fn = this.#o.host.event;
    if (fn !== undefined) this.#callHost('event', () => fn.call(this.#o.host, id, data));
    if (this.listenerCount('event') === 0 && !this.#streams.active) return;
    const copy = copied ? data : data.slice();
    this.emit('event', id, copy);
    this.#streams.push({ id, data: copy });
  }

  /** The plugin emitted more than maxInitEventBytes during init: this run ends like a failed init. */
  #onInitOverflow(): void {
    this.#fault = `The plugin emitted more than ${this.#o.maxInitEventBytes} bytes of events during its init (options.maxInitEventBytes); they wait for the end of init, so the sidecar was ended.`;
    this.#preReady = [];
    this.#preReadyBytes = 0;
    this.#endRunner('crashed');
  }

  /** Runs a host callback; an exception becomes an 'error' event (ERR_CALLBACK_THREW, the exception as its cause) instead of breaking the pump. */
  #callHost(name: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#emitError(new SidecarError('ERR_CALLBACK_THREW', `The host callback 'host.${name}' threw: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
    }
  }

  /**
   * Reports `error` as an 'error' event on the next tick — or, when nobody listens for 'error', as a process warning:
   * an EventEmitter 'error' without a listener would throw and end the Node process, which this library never does.
   */
  #emitError(error: SidecarError): void {
    process.nextTick(() => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
      else process.emitWarning(error);
    });
  }

  #onProtocolError(runner: Runner): void {
    if (runner !== this.#runner || this.#fault !== undefined) return;
    this.#fault = `The sidecar broke the protocol: ${this.#protocolError ?? 'unknown error'}.`;
    this.#emitError(new SidecarError('ERR_RING_CORRUPT', this.#fault));
    this.#endRunner('corrupt');
  }

  /** Ends the current runner for a fault this host found: kills a process; asks a thread to finish (it cannot be killed). */
  #endRunner(reason: SidecarExitReason): void {
    const runner = this.#runner;
    if (runner === undefined) return;
    this.#killReason = reason;
    if (runner.kill()) return;
    if (this.mode === 'thread' && this.#phase !== 'stopped') {
      // The thread drains what it can, disposes and ends; the exit path reports it. Nothing is accepted meanwhile.
      this.#phase = 'stopping';
      try {
        this.#ch.commands.closeProducer();
      } catch {
        // a broken ring: the thread finds it and ends anyway
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Faults, exits and stopping.

  #onHung(call: number, stuckMs: number): void {
    const what = CALL_NAMES[call] ?? 'a';
    if (this.#runner?.kill()) {
      this.#killReason = 'watchdog';
      this.#fault = `The plugin's ${what} call ran for ${stuckMs} ms without progress, longer than the watchdog's ${this.#o.watchdogMs} ms; the sidecar was killed.`;
      return;
    }
    this.#emitError(new SidecarError(
      'ERR_TIMEOUT',
      `The plugin's ${what} call has been running for ${stuckMs} ms, longer than the watchdog's ${this.#o.watchdogMs} ms; a thread cannot be killed (use mode 'process').`,
    ));
  }

  #describeExit(runner: Runner, exit: RunnerExit): SidecarExit {
    const control = this.#ch.control;
    const reasonCode = exit.reason !== EXIT_NONE ? exit.reason : control.exitReason;
    const raw = this.#fault ?? control.errorMessage() ?? exit.error?.message;
    const message = raw === undefined ? undefined : this.#plugin.describe(raw, this.mode === 'process' ? PROCESS_PLUGIN_FD_PATH : undefined);
    let reason: SidecarExitReason;
    if (this.#killReason !== undefined) reason = this.#killReason;
    else if (reasonCode === EXIT_NORMAL && exit.signal === null) reason = 'stopped';
    else if (reasonCode in START_FAILURES && !this.#ready && this.#startSettle !== undefined) reason = 'start-failed';
    else if (reasonCode === EXIT_CORRUPT) reason = 'corrupt';
    else if (reasonCode === EXIT_PARENT_DIED) reason = 'parent-died';
    else if (reasonCode === EXIT_RESOURCE_LIMIT) reason = 'resource-limit';
    else reason = 'crashed';
    const result: SidecarExit = { reason, code: exit.code, signal: exit.signal, restarting: false, dropped: 0 };
    if (message !== undefined) result.message = message;
    else if (reason === 'resource-limit') result.message = `The sidecar process ${runner.pid} hit a resource limit of its sandbox (${this.#describeLimits()}).`;
    else if (reason === 'cancelled') result.message = `The sidecar process ${runner.pid} was killed to stop a cancelled request.`;
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
    if (reasonCode === EXIT_SANDBOX) return new SidecarError('ERR_SANDBOX_UNAVAILABLE', message);
    if (reasonCode === EXIT_SCHEDULING) return new SidecarError('ERR_SCHEDULING_DENIED', message, { errno: this.#ch.control.errorCode });
    if (reasonCode === EXIT_LOAD_FAILED && this.#o.sandbox !== null) {
      // The likeliest cause under the sandbox: a dependency outside the system library directories.
      message += ' Under the sandbox the loader reads only the plugin file, the system library directories and sandbox.readPaths; a library of the plugin elsewhere must be listed in readPaths and found through sandbox.env LD_LIBRARY_PATH ($ORIGIN means /proc/self/fd for a plugin loaded from its checked descriptor).';
    }
    return reasonCode === EXIT_INIT_FAILED
      ? new SidecarError('ERR_SIDECAR_START', message, { errno: this.#ch.control.errorCode })
      : new SidecarError('ERR_SIDECAR_START', message);
  }

  #describeLimits(): string {
    const s = this.#o.sandbox;
    if (s === null) return 'none set';
    const parts = [];
    if (s.memoryBytes !== undefined) parts.push(`memoryBytes ${s.memoryBytes}`);
    if (s.cpuSeconds !== undefined) parts.push(`cpuSeconds ${s.cpuSeconds}`);
    parts.push(`openFiles ${s.openFiles}`);
    return parts.join(', ');
  }

  #onRunnerExit(runner: Runner, exit: RunnerExit): void {
    if (runner !== this.#runner) return;
    // Everything the sidecar published before it ended is delivered first (its last events, replies, dispose).
    this.#pumpAbort.abort();
    try {
      const drained = this.#ch.events.drainAt(this.#onMessageFn);
      const stats = this.#ch.stats;
      if (stats !== undefined) {
        stats[STAT_MESSAGES_RECEIVED] = stats[STAT_MESSAGES_RECEIVED]! + drained; // display-only (§8.4)
        stats[STAT_PENDING_REQUESTS] = this.#pending.size;
      }
    } catch (error) {
      this.#protocolError ??= `the event ring failed: ${(error as Error).message}`;
    }
    this.#watchdog?.stop();
    this.#runner = undefined;
    const info = this.#describeExit(runner, exit);
    const reasonCode = exit.reason !== EXIT_NONE ? exit.reason : this.#ch.control.exitReason;

    if (this.#startSettle !== undefined) {
      const settle = this.#startSettle;
      this.#startSettle = undefined;
      const error = this.#startError(info, reasonCode); // reads the control block: before finalize unmaps it
      info.reason = 'start-failed';
      this.#finalize(info, true);
      settle.reject(error);
      return;
    }
    if (info.reason === 'stopped') {
      this.#finalize(info, false);
      return;
    }
    if (info.reason === 'cancelled' && !(this.#phase === 'stopping' && this.#stopWithoutDrain)) {
      // A pool stopped a cancelled request by killing the process: a replacement, not a crash — at once, uncounted.
      const plan = planRecovery(this.#ch, this.#journal, this.#firstIsRedelivery, (id) => this.#pending.get(id) !== undefined);
      if (this.#recover(plan, info)) {
        info.restarting = true;
        this.emit('exit', info);
        this.#scheduleRestart(false, 0);
        return;
      }
    } else if (this.#mayRestart()) {
      const plan = planRecovery(this.#ch, this.#journal, this.#firstIsRedelivery, (id) => this.#pending.get(id) !== undefined);
      // A poison command is quarantined without using the restart budget a second time.
      if (plan.poison !== undefined || this.#hasRestartBudget()) {
        if (this.#recover(plan, info)) {
          info.restarting = true;
          this.emit('exit', info);
          this.#scheduleRestart(plan.poison === undefined);
          return;
        }
      }
    }
    this.#finalize(info, false);
  }

  /** Whether a crashed sidecar may come back at all (policy, mode, and no stop that forbids it). */
  #mayRestart(): boolean {
    if (this.#o.restart === undefined || this.mode !== 'process') return false;
    if (this.#killReason === 'stop-timeout' || this.#killReason === 'start-failed') return false;
    return !(this.#phase === 'stopping' && this.#stopWithoutDrain);
  }

  #hasRestartBudget(): boolean {
    const policy = this.#o.restart!;
    if (performance.now() - this.#startedAt >= policy.resetAfterMs) this.#restarts = 0;
    return this.#restarts < policy.maxRestarts;
  }

  /**
   * Applies a recovery plan: settles what the dead sidecar can no longer answer, moves the commands it had not finished
   * into a fresh channel (a new region: nothing the dead sidecar wrote is reused), and closes the old one. Returns false
   * when the fresh channel could not be made (the sidecar then ends for good).
   */
  #recover(plan: RecoveryPlan, info: SidecarExit): boolean {
    const old = this.#ch;
    let ch: SidecarChannel;
    try {
      ch = createChannel(this.#o, this.#commandParker, this.#eventParker, plan.carried[0]?.redelivered === true ? 1 : 0, this.#index, old);
    } catch (error) {
      info.message = `${info.message ?? 'The sidecar ended.'} It could not be restarted: ${(error as Error).message}`;
      return false;
    }
    // Requests whose command finished but got no reply (a reply deferred to a later call, or lost in a broken event
    // ring): the plugin that would have answered is gone, and the command must not run again.
    for (const entry of this.#pending.all()) {
      if (entry.ordinal >= 0 && entry.ordinal < plan.completed) {
        this.#pending.fail(entry.id, new SidecarError('ERR_SIDECAR_CRASHED', `The sidecar processed request ${entry.id} but ended (${info.reason}) before replying; it will not run again.`));
      }
    }
    if (plan.poison !== undefined) {
      const { type, id, data } = plan.poison;
      if (id !== 0) {
        this.#pending.fail(id, new SidecarError('ERR_SIDECAR_POISON', `Request ${id} (type ${type}) killed the sidecar twice, the second time when it was redelivered; it was quarantined and will not run again.`));
      }
      const poison: SidecarPoison = { type, data, requestId: id, exit: info };
      this.emit('poison', poison);
    }
    if (plan.lost.length > 0 || plan.problem !== undefined) {
      let requests = 0;
      for (const id of plan.lost) {
        if (id === 0) continue;
        requests++;
        this.#pending.fail(id, new SidecarError('ERR_RING_CORRUPT', `The command of request ${id} was lost: the dead sidecar's command ring could not be read back.`));
      }
      const lost = plan.lost.length === 0 ? '' : ` ${plan.lost.length} commands (${requests} requests, ${plan.lost.length - requests} sends) could not be recovered.`;
      this.#emitError(new SidecarError('ERR_RING_CORRUPT', `The sidecar's shared memory was damaged when it ended: ${plan.problem ?? 'unreadable records'}.${lost}`));
    }

    // Switch to the fresh channel, then write the carried commands at its start, in order, ahead of the backlog.
    this.#processedBefore += old.control.processed;
    this.#chAbort.abort();
    this.#chAbort = new AbortController();
    this.#ch = ch;
    this.#pending.mirrorTo(ch.stats);
    this.#journal = new CommandJournal(this.#o.commandRingBytes);
    this.#firstIsRedelivery = plan.carried[0]?.redelivered === true;
    this.#unpublished = 0;
    const spill: BacklogItem[] = [];
    for (const c of plan.carried) {
      const ordinal = spill.length === 0 ? this.#writeCommand(c.type, c.id, c.data) : -1;
      if (ordinal < 0) {
        spill.push({ type: c.type, id: c.id, bytes: c.data, resolve: undefined, reject: undefined, withdrawn: false });
        continue;
      }
      if (c.id !== 0) {
        const entry = this.#pending.get(c.id);
        if (entry !== undefined) entry.ordinal = ordinal;
      }
    }
    if (spill.length > 0) {
      // Cannot happen with rings of one size (they held these commands before), but order and counts must survive.
      for (const item of spill) {
        if (item.id !== 0) {
          const entry = this.#pending.get(item.id);
          if (entry !== undefined) entry.ordinal = -1;
        }
        this.#backlogBytes += item.bytes.byteLength;
      }
      this.#backlog.unshift(...spill);
    }
    old.region.close(); // its sidecar is gone: nothing maps it any more but this process
    if (this.#backlog.length > 0) void this.#flushBacklog();
    return true;
  }

  /** `delayMs`: the backoff of the restart policy unless given (0 for a cancellation's replacement). */
  #scheduleRestart(counts: boolean, delayMs?: number): void {
    const policy = this.#o.restart;
    const delay = delayMs ?? (policy === undefined ? 0 : Math.min(policy.backoffMs * 2 ** this.#restarts, policy.maxBackoffMs));
    if (counts) this.#restarts++;
    if (this.#phase !== 'stopping') this.#phase = 'restarting';
    const restart: SidecarRestart = { attempt: this.#restarts, delayMs: delay };
    this.emit('restart', restart);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#phase !== 'restarting' && this.#phase !== 'stopping') return;
      try {
        this.#launch();
      } catch (error) {
        this.#finalize({ reason: 'crashed', code: null, signal: null, restarting: false, dropped: 0, message: `The sidecar could not be restarted: ${(error as Error).message}` }, false);
      }
    }, delay);
  }

  /** Commands in the current ring that did not finish and were not withdrawn (valid once its runner has ended). */
  #unfinished(): number {
    const completed = this.#journal.widen(this.#ch.control.completed) ?? 0;
    let count = 0;
    for (let ordinal = Math.max(completed, this.#journal.written - this.#journal.slots); ordinal < this.#journal.written; ordinal++) {
      if (Atomics.load(this.#ch.words, this.#journal.claimWordOf(ordinal)) >>> 0 !== COMMAND_WITHDRAWN) count++;
    }
    return count;
  }

  /** The end: nothing runs on the region any more. Fails what is left, unmaps the region, reports the exit. */
  #finalize(info: SidecarExit, starting: boolean, keepRegion = false): void {
    if (this.#phase === 'stopped') return;
    if (info.reason !== 'stopped' && !keepRegion) this.#dropped += this.#unfinished();
    this.#processedBefore += this.#ch.control.processed;
    this.#phase = 'stopped';
    this.#watchdog?.stop();
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer);
    this.#pumpAbort.abort();
    const crashed = info.reason !== 'stopped';
    const error = crashed
      ? new SidecarError('ERR_SIDECAR_CRASHED', `The sidecar ended (${info.reason}) before the command could be processed.`)
      : new SidecarError('ERR_SIDECAR_STOPPED', 'The sidecar stopped before the command could be sent.');
    this.#chAbort.abort(error);
    this.#failBacklog(error, true);
    this.#pending.failAll((id) =>
      crashed
        ? new SidecarError('ERR_SIDECAR_CRASHED', `The sidecar ended (${info.reason}) before replying to request ${id}.${info.message === undefined ? '' : ` ${info.message}`}`)
        : new SidecarError('ERR_SIDECAR_STOPPED', `The sidecar stopped without replying to request ${id}.`),
    );
    info.dropped = starting ? 0 : this.#dropped;
    this.#lastExit = info;
    this.#streams.end();
    // The runner writes its own copy of the eventfd (a thread kept alive by keepRegion included): closing is safe.
    this.#eventParker.close();
    // Every run loaded the plugin already (or failed to): the descriptor has done its work.
    this.#plugin.close();
    this.#pumpPin?.restore(); // the owner thread: #finalize runs on it
    if (!keepRegion) this.#ch.region.close();
    if (!starting) this.emit('exit', info);
    this.#finish(info);
  }

  async #stop(timeout: number, drain: boolean): Promise<SidecarExit> {
    if (this.#phase === 'stopped') return this.#lastExit!;
    if (this.#startSettle !== undefined) {
      // stop() before start() resolved cannot happen through the public API (start resolves first); be safe anyway.
      await this.#finished;
      return this.#lastExit!;
    }
    this.#phase = 'stopping';
    this.#stopWithoutDrain = !drain;
    if (!drain) this.#withdrawAll();
    if (this.#runner === undefined) {
      // Between a crash and its restart. With drain, the restart (already scheduled) runs and drains; without, or
      // when no restart is coming, this is the end.
      if (!drain || this.#restartTimer === undefined) {
        this.#finalize({ reason: 'stopped', code: null, signal: null, restarting: false, dropped: 0 }, false);
        return this.#lastExit!;
      }
    } else {
      this.#closeWhenFlushed(); // now, or when the flush has put the backlog into the ring
    }
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        resolve(undefined);
        if (this.#runner?.kill()) {
          this.#killReason = 'stop-timeout';
        } else if (this.#runner === undefined && this.#phase !== 'stopped') {
          // Still waiting for a restart: give up on it.
          this.#finalize({ reason: 'stop-timeout', code: null, signal: null, restarting: false, dropped: 0, message: `The sidecar did not finish within ${timeout} ms.` }, false);
        }
      }, timeout);
    });
    try {
      if (this.mode === 'process') return await this.#finished; // a kill after the timeout ends it for sure
      const ended = await Promise.race([this.#finished, expired]);
      if (ended !== undefined || !timedOut) return ended ?? this.#lastExit!;
      const error = new SidecarError(
        'ERR_TIMEOUT',
        `The sidecar thread did not finish within ${timeout} ms (a plugin call may be hung); a thread cannot be killed, so it keeps running and its shared memory stays mapped.`,
      );
      this.#finalize({ reason: 'stop-timeout', code: null, signal: null, restarting: false, dropped: 0, message: error.message }, false, true);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
