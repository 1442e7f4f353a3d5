/**
 * The model-based fault-injection test of the Sidecar's delivery contract (docs/reliability.md), shared by
 * test/sidecar-model.test.ts (a bounded run, part of `npm test`) and bench/soak.ts (`npm run soak`, as long as asked).
 *
 * A run is one fast-check `fc.commands` sequence executed by `fc.asyncModelRun` against a real Sidecar hosting the
 * ledger test plugin (native/test/plugins/ledger.c), whose ledger file records every command whose process() ran to
 * its end and survives kill -9. Commands: send, request (with or without timeout or abort signal; also slow ones,
 * type 4, so that a timeout races the runtime's claim of a command), abort, pause, settle, stop (with and without drain, with a stop timeout), and in process mode kill -9 (now, after a delay, and
 * right after a restart spawned the next sidecar, while it loads and inits), plugin crash (type 1), crash-once
 * (type 3: crashes unless redelivered), hang (type 2: the watchdog kills it, or the stop timeout) and corruption of a
 * ring header or record header in either ring (test/helpers/corrupt.ts).
 *
 * The model decides which commands apply (thread mode: no kill, crash, hang or corruption — a crash there ends Node)
 * and tracks what was promised; after stop() resolved, DeliveryHarness.finish() checks every rule against the ledger
 * and the promises and returns the violations (strings, each starting with a tag in square brackets). See the
 * comments of #check() for the list of checks and the rule of docs/reliability.md each one proves.
 */
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { NativeSidecarError, Sidecar, type SidecarExit, type SidecarMode } from '../../src/index.js';
import { corruptSidecar, type CorruptRing, type CorruptTarget } from './corrupt.js';
import { LEDGER_REDELIVERED, Ledger, type LedgerEntry } from './ledger.js';
import { processExists, sleep, testPlugin } from './sidecar-env.js';

// ---------------------------------------------------------------------------------------------------------------
// Unhandled rejections: collected process-wide (installed once), checked by every run.

const unhandled: unknown[] = [];
let unhandledInstalled = false;
function installUnhandledListener(): void {
  if (unhandledInstalled) return;
  unhandledInstalled = true;
  process.on('unhandledRejection', (reason) => {
    unhandled.push(reason);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration, model and statistics.

export const TYPE_NORMAL = 0;
export const TYPE_SEGFAULT = 1;
export const TYPE_HANG = 2;
export const TYPE_CRASH_ONCE = 3;
/** Sleeps 1–16 ms inside process() (payload byte 8), then as TYPE_NORMAL: a started command a timeout can race. */
export const TYPE_SLOW = 4;
/** Types whose process() runs to its end (and writes the ledger) when it is delivered. */
const COMPLETES = new Set([TYPE_NORMAL, TYPE_CRASH_ONCE, TYPE_SLOW]);

export interface ModelConfig {
  mode: SidecarMode;
  restart: { maxRestarts: number; backoffMs: number } | undefined;
  watchdogMs: number | undefined;
  commandRingBytes: number;
  eventRingBytes: number;
  maxQueue: number | undefined;
  stopTimeoutMs: number;
}

/** The fast-check model: what the command generator needs to know to pick applicable commands. */
export interface Model {
  readonly cfg: ModelConfig;
  stopCalled: boolean;
  /** Faults injected so far (kills, crashes, hangs, corruptions): bounded per run to bound its time. */
  faults: number;
  hangs: number;
}

/** Most faults per run. */
export const MAX_FAULTS = 5;
/** Most hangs per run (each costs two watchdog periods, or a stop timeout). */
export const MAX_HANGS = 1;

export interface Stats {
  runs: number;
  commands: number;
  sends: number;
  sendsResolved: number;
  requests: number;
  requestsResolved: number;
  requestsRejected: Record<string, number>;
  sendsRejected: Record<string, number>;
  kills: number;
  killsDuringRestart: number;
  crashes: number;
  crashOnce: number;
  hangs: number;
  corruptions: number;
  corruptionsSkipped: number;
  aborts: number;
  stops: number;
  stopsWithoutDrain: number;
  exits: number;
  restarts: number;
  poisons: number;
  /** Quarantined commands of a type that completes: the sidecar died twice (kill -9, watchdog, corruption) while it ran. */
  poisonedByOtherFaults: number;
  dropped: number;
  lostReported: number;
  ledgerEntries: number;
  redeliveries: number;
  finalReasons: Record<string, number>;
  violations: number;
}

export function emptyStats(): Stats {
  return {
    runs: 0, commands: 0, sends: 0, sendsResolved: 0, requests: 0, requestsResolved: 0, requestsRejected: {}, sendsRejected: {},
    kills: 0, killsDuringRestart: 0, crashes: 0, crashOnce: 0, hangs: 0, corruptions: 0, corruptionsSkipped: 0, aborts: 0,
    stops: 0, stopsWithoutDrain: 0, exits: 0, restarts: 0, poisons: 0, poisonedByOtherFaults: 0, dropped: 0, lostReported: 0, ledgerEntries: 0,
    redeliveries: 0, finalReasons: {}, violations: 0,
  };
}

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

/** Faults that a run injected: the number that goes into the soak summary. */
export function faultsInjected(s: Stats): number {
  return s.kills + s.killsDuringRestart + s.crashes + s.crashOnce + s.hangs + s.corruptions;
}

// ---------------------------------------------------------------------------------------------------------------
// What the harness records about every operation.

type Settled = 'pending' | 'resolved' | 'rejected';

interface SendRecord {
  seq: bigint;
  type: number;
  payload: Uint8Array;
  state: Settled;
  error?: unknown;
  /** stop() had been called when the send was made. */
  afterStop: boolean;
  settle: Promise<void>;
}

/** How a rejected request may relate to the ledger (docs/reliability.md rule 5). */
type RejectClass =
  | 'never-ran' // it was never accepted or it was withdrawn before it started: no ledger entry, ever
  | 'may-finish' // a timeout/abort of a command already started: at most one entry after the rejection
  | 'frozen'; // anything else: the ledger holds for it what it held at the rejection, forever

interface RequestRecord {
  seq: bigint;
  type: number;
  payload: Uint8Array;
  timeoutMs: number | undefined;
  controller: AbortController | undefined;
  abortTimer: NodeJS.Timeout | undefined;
  state: Settled;
  settleCount: number;
  reply?: Uint8Array;
  error?: unknown;
  rejectClass?: RejectClass;
  /** Ledger entries for it when the rejection was handled. */
  entriesAtReject?: number;
  afterStop: boolean;
  settle: Promise<void>;
}

interface PoisonEvent {
  type: number;
  data: Uint8Array;
  requestId: number;
  exit: SidecarExit;
}

function payloadFor(seq: bigint, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, seq, true);
  for (let i = 8; i < size; i++) bytes[i] = Number((seq * 31n + BigInt(i)) & 0xffn);
  return bytes;
}

function seqOf(data: Uint8Array): bigint | undefined {
  if (data.byteLength < 8) return undefined;
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(0, true);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function codeOf(error: unknown): string {
  return error instanceof NativeSidecarError ? error.code : `not a NativeSidecarError: ${String(error)}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Classifies a request's rejection by its code and sentence (src/sidecar/sidecar.ts, pending.ts). */
function classifyRejection(error: unknown): RejectClass {
  const code = codeOf(error);
  const message = messageOf(error);
  if (code === 'ERR_QUEUE_FULL') return 'never-ran';
  if (code === 'ERR_TIMEOUT' || code === 'ERR_ABORTED') {
    // The sentence says whether the command never started (rule 5: "the message says so"); what it does not claim
    // is checked as may-finish.
    if (/will not be sent|withdrawn before the plugin started it|before it was sent/.test(message)) return 'never-ran';
    return 'may-finish';
  }
  if (code === 'ERR_SIDECAR_STOPPED' && /accepts no more commands|drain: false|before the command could be sent/.test(message)) return 'never-ran';
  if (code === 'ERR_SIDECAR_CRASHED' && /accepts no more commands|before the command could be (sent|processed)/.test(message)) return 'frozen';
  return 'frozen';
}

/** Request rejections that mean it was never accepted (request() "returned its promise" only formally). */
function notAccepted(error: unknown): boolean {
  const code = codeOf(error);
  const message = messageOf(error);
  if (code === 'ERR_QUEUE_FULL') return true;
  if (code === 'ERR_ABORTED' && /before it was sent/.test(message)) return true;
  return /accepts no more commands/.test(message);
}

const REQUEST_CODES: Record<SidecarMode, readonly string[]> = {
  thread: ['ERR_TIMEOUT', 'ERR_ABORTED', 'ERR_SIDECAR_STOPPED', 'ERR_QUEUE_FULL'],
  process: ['ERR_TIMEOUT', 'ERR_ABORTED', 'ERR_SIDECAR_STOPPED', 'ERR_QUEUE_FULL', 'ERR_SIDECAR_CRASHED', 'ERR_SIDECAR_POISON', 'ERR_RING_CORRUPT'],
};
const SEND_CODES: Record<SidecarMode, readonly string[]> = {
  thread: ['ERR_SIDECAR_STOPPED', 'ERR_QUEUE_FULL'],
  process: ['ERR_SIDECAR_STOPPED', 'ERR_QUEUE_FULL', 'ERR_SIDECAR_CRASHED'],
};

/** The lost-command count of an 'error' event of a restart (rule 8): "… N commands (R requests, S sends) could not be recovered." */
function lostCounts(error: unknown): { commands: number; requests: number; sends: number } | undefined {
  const m = /(\d+) commands \((\d+) requests, (\d+) sends\) could not be recovered/.exec(messageOf(error));
  if (m === null) return undefined;
  return { commands: Number(m[1]), requests: Number(m[2]), sends: Number(m[3]) };
}

/** Direct children of this process that still run (not zombies). */
export function liveChildren(): number[] {
  const me = process.pid;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(after[1]) === me && after[0] !== 'Z') out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function killPid(pid: number): boolean {
  if (pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false; // already gone
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The harness: one Sidecar, its ledger, and everything that happened to it.

export class DeliveryHarness {
  readonly cfg: ModelConfig;
  readonly sidecar: Sidecar;
  readonly ledger: Ledger;
  readonly stats: Stats;
  readonly log: string[] = [];
  readonly #sends: SendRecord[] = [];
  readonly #requests: RequestRecord[] = [];
  readonly #bySeq = new Map<bigint, { kind: 'send' | 'request'; type: number; payload: Uint8Array }>();
  readonly #exits: SidecarExit[] = [];
  readonly #poisons: PoisonEvent[] = [];
  readonly #errors: unknown[] = [];
  readonly #events = new Map<bigint, number>();
  readonly #eventProblems: string[] = [];
  /** Ledger length at each death of a sidecar (the 'exit' event: its process is gone by then). */
  readonly #marks: number[] = [];
  readonly #pids = new Set<number>();
  readonly #unhandledAtStart: number;
  #restarts = 0;
  #nextSeq = 1n;
  #stopPromise: Promise<SidecarExit> | undefined;
  #stopResult: SidecarExit | undefined;
  #stopError: unknown;
  #stopSettled = false;
  #stopDrain = true;
  #corrupted = false;
  #eventCorrupted = false;

  private constructor(cfg: ModelConfig, sidecar: Sidecar, ledger: Ledger, stats: Stats) {
    this.cfg = cfg;
    this.sidecar = sidecar;
    this.ledger = ledger;
    this.stats = stats;
    this.#unhandledAtStart = unhandled.length;
    this.#notePid();
    sidecar.on('exit', (exit: SidecarExit) => {
      this.ledger.poll();
      this.#marks.push(this.ledger.entries.length);
      this.#exits.push(exit);
      this.log.push(`exit ${exit.reason} code=${exit.code} signal=${exit.signal} restarting=${exit.restarting} dropped=${exit.dropped} ledger=${this.ledger.entries.length}`);
    });
    sidecar.on('restart', () => {
      this.#restarts++;
    });
    sidecar.on('ready', () => this.#notePid());
    sidecar.on('poison', (p: PoisonEvent) => {
      this.#poisons.push(p);
      this.log.push(`poison type=${p.type} requestId=${p.requestId} seq=${seqOf(p.data)}`);
    });
    sidecar.on('error', (error: unknown) => {
      this.#errors.push(error);
      this.log.push(`error ${codeOf(error)}: ${messageOf(error)}`);
    });
    sidecar.on('event', (id: number, data: Uint8Array) => {
      const seq = seqOf(data);
      const sent = seq === undefined ? undefined : this.#bySeq.get(seq);
      if (id !== 0 || seq === undefined || sent === undefined || sent.kind !== 'send' || !sameBytes(sent.payload, data)) {
        this.#eventProblems.push(`event ${id} of ${data.byteLength} bytes (seq ${String(seq)}) matches no send`);
        return;
      }
      this.#events.set(seq, (this.#events.get(seq) ?? 0) + 1);
    });
  }

  static async create(cfg: ModelConfig, stats: Stats): Promise<DeliveryHarness> {
    installUnhandledListener();
    const ledger = new Ledger();
    let sidecar: Sidecar;
    try {
      sidecar = await Sidecar.start({
        plugin: testPlugin('ledger'),
        mode: cfg.mode,
        ...ledger.sidecarOptions(cfg.mode),
        commandRingBytes: cfg.commandRingBytes,
        eventRingBytes: cfg.eventRingBytes,
        stopTimeoutMs: cfg.stopTimeoutMs,
        ...(cfg.restart === undefined ? {} : { restart: { maxRestarts: cfg.restart.maxRestarts, backoffMs: cfg.restart.backoffMs, maxBackoffMs: 50 } }),
        ...(cfg.watchdogMs === undefined ? {} : { watchdog: { timeoutMs: cfg.watchdogMs } }),
        ...(cfg.maxQueue === undefined ? {} : { maxQueue: cfg.maxQueue }),
      });
    } catch (error) {
      ledger.dispose();
      throw error;
    }
    stats.runs++;
    return new DeliveryHarness(cfg, sidecar, ledger, stats);
  }

  #notePid(): void {
    const pid = this.sidecar.pid;
    if (pid > 0 && pid !== process.pid) this.#pids.add(pid);
  }

  get stopCalled(): boolean {
    return this.#stopPromise !== undefined;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Operations.

  send(count: number, size: number, type = TYPE_NORMAL): void {
    this.#notePid();
    for (let i = 0; i < count; i++) {
      const seq = this.#nextSeq++;
      const payload = payloadFor(seq, size);
      this.#bySeq.set(seq, { kind: 'send', type, payload });
      const record: SendRecord = { seq, type, payload, state: 'pending', afterStop: this.stopCalled, settle: undefined as unknown as Promise<void> };
      this.stats.sends++;
      let promise: Promise<void>;
      try {
        promise = this.sidecar.send(payload, { type });
      } catch (error) {
        promise = Promise.reject(error);
        this.log.push(`send ${seq} threw ${codeOf(error)}`);
      }
      record.settle = promise.then(
        () => {
          record.state = 'resolved';
          this.stats.sendsResolved++;
        },
        (error: unknown) => {
          record.state = 'rejected';
          record.error = error;
          bump(this.stats.sendsRejected, codeOf(error));
        },
      );
      this.#sends.push(record);
    }
  }

  request(count: number, size: number, type: number, timeoutMs: number | undefined, signal: 'none' | 'manual' | number): void {
    this.#notePid();
    for (let i = 0; i < count; i++) {
      const seq = this.#nextSeq++;
      const payload = payloadFor(seq, size);
      this.#bySeq.set(seq, { kind: 'request', type, payload });
      const controller = signal === 'none' ? undefined : new AbortController();
      const record: RequestRecord = {
        seq, type, payload, timeoutMs, controller, abortTimer: undefined, state: 'pending', settleCount: 0,
        afterStop: this.stopCalled, settle: undefined as unknown as Promise<void>,
      };
      this.stats.requests++;
      let promise: Promise<Uint8Array>;
      try {
        promise = this.sidecar.request(payload, {
          type,
          ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
          ...(controller === undefined ? {} : { signal: controller.signal }),
        });
      } catch (error) {
        promise = Promise.reject(error);
        this.log.push(`request ${seq} threw ${codeOf(error)}`);
      }
      if (typeof signal === 'number' && controller !== undefined) {
        record.abortTimer = setTimeout(() => {
          this.stats.aborts++;
          controller.abort();
        }, signal);
      }
      record.settle = promise.then(
        (reply) => {
          record.settleCount++;
          record.state = 'resolved';
          record.reply = reply;
          this.stats.requestsResolved++;
        },
        (error: unknown) => {
          record.settleCount++;
          record.state = 'rejected';
          record.error = error;
          record.rejectClass = classifyRejection(error);
          this.ledger.poll();
          record.entriesAtReject = this.ledger.count(seq);
          bump(this.stats.requestsRejected, codeOf(error));
        },
      );
      this.#requests.push(record);
    }
  }

  /** Aborts the signal of one pending request that has one (`pick` chooses which). */
  abort(pick: number): void {
    const candidates = this.#requests.filter((r) => r.state === 'pending' && r.controller !== undefined && !r.controller.signal.aborted);
    if (candidates.length === 0) return;
    this.stats.aborts++;
    candidates[pick % candidates.length]!.controller!.abort();
  }

  /** A command that makes the plugin misbehave: 1 segfault, 2 hang, 3 segfault unless redelivered. */
  fault(type: number, asRequest: boolean): void {
    if (type === TYPE_SEGFAULT) this.stats.crashes++;
    else if (type === TYPE_HANG) this.stats.hangs++;
    else this.stats.crashOnce++;
    if (asRequest) this.request(1, 16, type, undefined, 'none');
    else this.send(1, 16, type);
  }

  /**
   * kill -9 of the sidecar process: 'now'; 'delayed' (after `delayMs`); 'restart' (now, then the next sidecar as soon as
   * a restart spawned it, while it loads the plugin and runs init).
   */
  async kill(how: 'now' | 'delayed' | 'restart', delayMs: number): Promise<void> {
    if (how === 'delayed') await sleep(delayMs);
    this.#notePid();
    const pid = this.sidecar.pid;
    if (!killPid(pid)) return;
    this.stats.kills++;
    this.log.push(`kill -9 ${pid} (${how})`);
    if (how !== 'restart' || this.cfg.restart === undefined) return;
    const end = Date.now() + 2000;
    while (Date.now() < end) {
      const next = this.sidecar.pid;
      if (next > 0 && next !== pid && next !== process.pid) {
        this.#pids.add(next);
        if (killPid(next)) {
          this.stats.killsDuringRestart++;
          this.log.push(`kill -9 ${next} (during its start)`);
        }
        return;
      }
      // Every turn of the event loop: the restart spawns from a timer, and this check runs right after it.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Damages `ring` (corruptSidecar). With `burst` > 0 it first sends that many commands so that the ring has records to
   * damage: the command ring right after they are published (the runtime consumes them meanwhile), the event ring
   * after up to 3 ms of busy waiting on this thread (the runtime fills it, this thread does not drain it).
   */
  async corrupt(ring: CorruptRing, target: CorruptTarget, pick: number, burst: number): Promise<void> {
    if (burst > 0) {
      this.send(burst, 24);
      await Promise.resolve(); // the microtask that publishes the staged commands runs first
      await Promise.resolve();
    }
    const pid = this.sidecar.pid;
    if (pid <= 0) {
      this.stats.corruptionsSkipped++;
      return;
    }
    let result = corruptSidecar(pid, ring, target, pick);
    if (!result.done && burst > 0 && ring === 'event' && target !== 'tail' && target !== 'head') {
      const end = performance.now() + 3;
      while (!result.done && performance.now() < end) result = corruptSidecar(pid, ring, target, pick);
    }
    this.log.push(`corrupt: ${result.what}`);
    if (!result.done) {
      this.stats.corruptionsSkipped++;
      return;
    }
    this.stats.corruptions++;
    this.#corrupted = true;
    if (ring === 'event') this.#eventCorrupted = true;
  }

  stop(drain: boolean, timeoutMs: number | undefined): void {
    if (this.#stopPromise !== undefined) return;
    this.stats.stops++;
    if (!drain) this.stats.stopsWithoutDrain++;
    this.#stopDrain = drain;
    this.log.push(`stop drain=${drain} timeout=${String(timeoutMs)}`);
    let promise: Promise<SidecarExit>;
    try {
      promise = this.sidecar.stop({ drain, ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }) });
    } catch (error) {
      promise = Promise.reject(error);
    }
    this.#stopPromise = promise;
    promise.then(
      (exit) => {
        this.#stopResult = exit;
        this.#stopSettled = true;
      },
      (error: unknown) => {
        this.#stopError = error;
        this.#stopSettled = true;
      },
    );
  }

  /** Waits until every operation settled, at most `limitMs`. */
  async settle(limitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.#sends.map((s) => s.settle), ...this.#requests.map((r) => r.settle)]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, limitMs);
      }),
    ]);
    clearTimeout(timer);
  }

  // -------------------------------------------------------------------------------------------------------------
  // The end of a run: stop, wait, check.

  /** Stops the sidecar (unless a stop is under way), waits for everything, checks every rule; returns the violations. */
  async finish(): Promise<string[]> {
    const v: string[] = [];
    if (this.#stopPromise === undefined) this.stop(true, undefined);
    const stopLimit = this.cfg.stopTimeoutMs * 4 + 20_000;
    const stopDeadline = Date.now() + stopLimit;
    while (!this.#stopSettled && Date.now() < stopDeadline) await sleep(5);
    if (!this.#stopSettled) {
      v.push(`[stop-hang] stop() did not settle within ${stopLimit} ms`);
      for (const pid of this.#pids) killPid(pid);
      const end = Date.now() + 5000;
      while (!this.#stopSettled && Date.now() < end) await sleep(5);
    }
    this.ledger.poll();
    const ledgerAtStop = this.ledger.entries.length;
    // Every promise settles by stop + 1 s (rule 10).
    const settleDeadline = Date.now() + 1000;
    const unsettled = (): number => this.#sends.filter((s) => s.state === 'pending').length + this.#requests.filter((r) => r.state === 'pending').length;
    while (unsettled() > 0 && Date.now() < settleDeadline) await sleep(5);
    for (const s of this.#sends) if (s.state === 'pending') v.push(`[unsettled] send ${s.seq} (type ${s.type}) still pending 1 s after stop() settled`);
    for (const r of this.#requests) if (r.state === 'pending') v.push(`[unsettled] request ${r.seq} (type ${r.type}) still pending 1 s after stop() settled`);
    for (const r of this.#requests) if (r.abortTimer !== undefined) clearTimeout(r.abortTimer);
    await sleep(20); // unhandled rejections are reported after the microtask queue drained
    this.ledger.poll();

    this.#check(v, ledgerAtStop);

    // No process left behind.
    const end = Date.now() + 3000;
    let alive = [...this.#pids].filter((pid) => processExists(pid));
    while (alive.length > 0 && Date.now() < end) {
      await sleep(10);
      alive = alive.filter((pid) => processExists(pid));
    }
    if (alive.length > 0) v.push(`[process-leak] sidecar processes ${alive.join(', ')} still run after stop()`);
    let children = liveChildren();
    while (children.length > 0 && Date.now() < end) {
      await sleep(10);
      children = liveChildren();
    }
    if (children.length > 0) v.push(`[process-leak] child processes ${children.join(', ')} still run after stop()`);

    this.stats.exits += this.#exits.length;
    this.stats.restarts += this.#restarts;
    this.stats.poisons += this.#poisons.length;
    this.stats.ledgerEntries += this.ledger.entries.length;
    this.stats.redeliveries += this.ledger.entries.filter((e) => (e.flags & LEDGER_REDELIVERED) !== 0).length;
    this.stats.violations += v.length;
    return v;
  }

  /** Removes the ledger file. */
  dispose(): void {
    this.ledger.dispose();
  }

  #check(v: string[], ledgerAtStop: number): void {
    const mode = this.cfg.mode;
    const ledger = this.ledger;
    const exit = this.#stopResult;
    const marks = new Set(this.#marks);

    // Unhandled rejections (rule 9).
    for (const reason of unhandled.slice(this.#unhandledAtStart)) v.push(`[unhandled] an unhandled rejection: ${codeOf(reason)} ${messageOf(reason)}`);

    // stop() itself.
    if (this.#stopError !== undefined) v.push(`[stop] stop() rejected: ${codeOf(this.#stopError)} ${messageOf(this.#stopError)}`);
    if (exit !== undefined) {
      bump(this.stats.finalReasons, exit.reason);
      this.stats.dropped += exit.dropped;
      if (exit.restarting) v.push('[stop] the exit stop() resolved with says restarting: true');
      if (exit.reason === 'start-failed') v.push('[start-failed] the final exit is start-failed');
      if (mode === 'thread' && exit.reason !== 'stopped') v.push(`[stop] thread mode ended with ${exit.reason}`);
    }
    for (const e of this.#exits) {
      if (e.reason === 'start-failed') v.push(`[start-failed] an exit of a restart says start-failed (rule 8): ${e.message ?? ''}`);
      if (e.restarting && e.dropped !== 0) v.push(`[dropped] an exit with restarting: true counts ${e.dropped} dropped (only the final exit counts them)`);
    }
    const finals = this.#exits.filter((e) => !e.restarting);
    if (finals.length !== 1) v.push(`[exit] ${finals.length} final 'exit' events (restarting: false) instead of one`);
    else if (exit !== undefined && finals[0] !== exit && JSON.stringify(finals[0]) !== JSON.stringify(exit)) {
      v.push(`[exit] stop() resolved with ${JSON.stringify(exit)} but the final 'exit' event said ${JSON.stringify(finals[0])}`);
    }
    if (finals.length === 1 && this.#exits[this.#exits.length - 1] !== finals[0]) v.push("[exit] an 'exit' event came after the final one");
    const restartingExits = this.#exits.filter((e) => e.restarting).length;
    if (restartingExits !== this.#restarts) v.push(`[restart] ${restartingExits} exits said restarting but ${this.#restarts} 'restart' events came`);
    if (this.cfg.restart === undefined && this.#restarts > 0) v.push('[restart] restarted without a restart policy');

    // Errors are NativeSidecarErrors with a code (rule 9).
    let lostSends = 0;
    let lostRequests = 0;
    for (const e of this.#errors) {
      if (!(e instanceof NativeSidecarError)) v.push(`[error-type] an 'error' event that is not a NativeSidecarError: ${String(e)}`);
      const lost = lostCounts(e);
      if (lost !== undefined) {
        lostSends += lost.sends;
        lostRequests += lost.requests;
        this.stats.lostReported += lost.commands;
      }
    }
    if (mode === 'thread' && this.#errors.length > 0) v.push(`[error] thread mode reported ${this.#errors.length} 'error' events: ${this.#errors.map(messageOf).join(' | ')}`);
    if (!this.#corrupted && lostSends + lostRequests > 0) v.push(`[lost] ${lostSends + lostRequests} commands reported lost without any corruption`);

    // Nothing runs after stop() resolved (rule 1: "before stop() resolves").
    if (ledger.entries.length !== ledgerAtStop) v.push(`[after-stop] the ledger grew from ${ledgerAtStop} to ${ledger.entries.length} entries after stop() settled`);

    // The ledger itself: every entry is a command this run made, of a type that writes; duplicates only as a flagged
    // redelivery right after a death of the command that was running then (rules 3 and 6); order kept.
    let lastFirst = 0n;
    for (const entry of ledger.entries) {
      const sent = this.#bySeq.get(entry.seq);
      if (sent === undefined) {
        v.push(`[ledger] entry ${entry.index} has seq ${entry.seq}, which no command carried`);
        continue;
      }
      if (entry.type !== sent.type || !COMPLETES.has(entry.type)) {
        v.push(`[ledger] entry ${entry.index} (seq ${entry.seq}) has type ${entry.type}; the command had type ${sent.type}`);
      }
      const flagged = (entry.flags & LEDGER_REDELIVERED) !== 0;
      if (entry.flags & ~LEDGER_REDELIVERED) v.push(`[flags] entry ${entry.index} (seq ${entry.seq}) has unknown flags 0x${entry.flags.toString(16)}`);
      if (flagged && (mode === 'thread' || !marks.has(entry.index))) {
        v.push(`[flags] entry ${entry.index} (seq ${entry.seq}) is flagged redelivered but is not the first command after a death (deaths at ${[...marks].join(',')})`);
      }
      const list = ledger.bySeq.get(entry.seq)!;
      if (list[0] === entry) {
        if (entry.seq <= lastFirst) v.push(`[order] seq ${entry.seq} ran (entry ${entry.index}) after seq ${lastFirst}: commands ran out of order`);
        lastFirst = entry.seq;
      }
    }
    for (const [seq, list] of ledger.bySeq) {
      if (list.length === 1) continue;
      const describe = list.map((e: LedgerEntry) => `#${e.index}${(e.flags & LEDGER_REDELIVERED) !== 0 ? 'R' : ''}`).join(' ');
      const [first, second] = list as [LedgerEntry, LedgerEntry];
      const ok =
        list.length === 2 &&
        mode === 'process' &&
        (first.flags & LEDGER_REDELIVERED) === 0 &&
        (second.flags & LEDGER_REDELIVERED) !== 0 &&
        marks.has(first.index + 1) &&
        second.index === first.index + 1;
      if (!ok) v.push(`[duplicate] seq ${seq} ran ${list.length} times (${describe}; deaths at ledger lengths ${this.#marks.join(',')}): a completed command was delivered again`);
    }

    // Events: only for sends that ran, at most once per run of them.
    for (const problem of this.#eventProblems) v.push(`[event] ${problem}`);
    for (const [seq, n] of this.#events) if (n > ledger.count(seq)) v.push(`[event] seq ${seq}: ${n} events but ${ledger.count(seq)} ledger entries`);

    // Poison events (rule 6): a command of a type that kills every time, not delivered again after it.
    const poisoned = new Set<bigint>();
    for (const p of this.#poisons) {
      const seq = seqOf(p.data);
      const sent = seq === undefined ? undefined : this.#bySeq.get(seq);
      if (seq === undefined || sent === undefined || !sameBytes(sent.payload, p.data)) {
        v.push(`[poison] a poison event carries ${p.data.byteLength} bytes that match no command`);
        continue;
      }
      // A command of a type that completes is quarantined only when the sidecar died twice while it ran: the host
      // cannot tell an outside kill -9, the watchdog or a corruption from a crash the command caused.
      if (sent.type !== TYPE_SEGFAULT && sent.type !== TYPE_HANG) {
        this.stats.poisonedByOtherFaults++;
        if (this.#exits.filter((e) => e.reason !== 'stopped').length < 2) v.push(`[poison] seq ${seq} of type ${sent.type} (which completes when redelivered) was quarantined after fewer than two deaths`);
      }
      if (p.type !== sent.type) v.push(`[poison] the poison event of seq ${seq} says type ${p.type}, the command had ${sent.type}`);
      if ((p.requestId === 0) !== (sent.kind === 'send')) v.push(`[poison] the poison event of seq ${seq} has requestId ${p.requestId} for a ${sent.kind}`);
      if (poisoned.has(seq)) v.push(`[poison] seq ${seq} was quarantined twice`);
      poisoned.add(seq);
    }

    // Sends (rules 1, 2).
    let missing = 0;
    const missingSeqs: bigint[] = [];
    for (const s of this.#sends) {
      const n = ledger.count(s.seq);
      if (s.state === 'rejected') {
        if (!SEND_CODES[mode].includes(codeOf(s.error))) v.push(`[code] send ${s.seq} rejected with ${codeOf(s.error)}: ${messageOf(s.error)}`);
        if (n > 0) v.push(`[rejected-ran] send ${s.seq} rejected (${codeOf(s.error)}) but ran ${n} times`);
        continue;
      }
      if (s.state !== 'resolved') continue;
      if (s.afterStop) v.push(`[after-stop] send ${s.seq} made after stop() resolved instead of rejecting`);
      const writes = COMPLETES.has(s.type);
      if (writes && n === 0 && !poisoned.has(s.seq)) {
        missing++;
        missingSeqs.push(s.seq);
      }
      if (!writes && !poisoned.has(s.seq)) {
        missing++;
        missingSeqs.push(s.seq);
      }
      if (s.type === TYPE_CRASH_ONCE && n > 0 && (ledger.bySeq.get(s.seq)![0]!.flags & LEDGER_REDELIVERED) === 0) {
        v.push(`[flags] send ${s.seq} of type 3 ran without the redelivered flag: its first delivery must crash`);
      }
    }

    // Requests (rules 4, 5, 7).
    let accepted = this.#sends.filter((s) => s.state === 'resolved' || (s.state === 'rejected' && !notAccepted(s.error))).length;
    let withdrawn = 0;
    for (const r of this.#requests) {
      const n = ledger.count(r.seq);
      if (r.settleCount > 1) v.push(`[settled-twice] request ${r.seq} settled ${r.settleCount} times`);
      if (r.state === 'resolved') {
        accepted++;
        if (r.afterStop) v.push(`[after-stop] request ${r.seq} made after stop() was answered instead of rejecting`);
        if (!sameBytes(r.reply!, r.payload)) v.push(`[reply] request ${r.seq} was answered with ${r.reply!.byteLength} bytes that are not its payload (seq ${String(seqOf(r.reply!))})`);
        if (n === 0) v.push(`[reply] request ${r.seq} was answered but its command never completed in the ledger`);
        continue;
      }
      if (r.state !== 'rejected') continue;
      const code = codeOf(r.error);
      if (!notAccepted(r.error)) accepted++;
      if (!REQUEST_CODES[mode].includes(code)) v.push(`[code] request ${r.seq} (type ${r.type}) rejected with ${code}: ${messageOf(r.error)}`);
      if (code === 'ERR_SIDECAR_POISON' && !poisoned.has(r.seq)) v.push(`[poison] request ${r.seq} rejected with ERR_SIDECAR_POISON but no poison event carried it`);
      if (code === 'ERR_TIMEOUT' && r.timeoutMs === undefined) v.push(`[code] request ${r.seq} without a timeout rejected with ERR_TIMEOUT`);
      if (code === 'ERR_ABORTED' && r.controller === undefined) v.push(`[code] request ${r.seq} without a signal rejected with ERR_ABORTED`);
      const at = r.entriesAtReject ?? 0;
      switch (r.rejectClass) {
        case 'never-ran':
          if (n > 0) v.push(`[withdrawn-ran] request ${r.seq} rejected before its command started (${code}: ${messageOf(r.error)}) but ran ${n} times`);
          // Withdrawn by its own timeout or signal: not dropped (stop({ drain: false }) withdrawals are).
          if (!notAccepted(r.error) && (code === 'ERR_TIMEOUT' || code === 'ERR_ABORTED')) withdrawn++;
          break;
        case 'may-finish':
          if (n - at > 1) v.push(`[ran-after-reject] request ${r.seq} (${code}, started) ran ${n - at} more times after its rejection`);
          break;
        default:
          if (n !== at) v.push(`[ran-after-reject] request ${r.seq} rejected with ${code} (${messageOf(r.error)}) ran ${n - at} times afterwards (rule 5)`);
      }
    }

    // Nothing lost silently (rule 2): a resolved send that never ran is counted in `dropped` or reported lost.
    const dropped = exit?.dropped ?? 0;
    if (missing > dropped + lostSends) {
      v.push(`[lost] ${missing} resolved sends never ran (seqs ${missingSeqs.slice(0, 12).join(',')}${missingSeqs.length > 12 ? ',…' : ''}) but the exit counts ${dropped} dropped and ${lostSends} sends were reported lost`);
    }
    // … and `dropped` counts nothing that ran (no double counting).
    const ran = new Set([...ledger.bySeq.keys()]).size;
    // The command inside process() at the last death may have written its ledger entry (the write is the last thing
    // process() does) and still count as unfinished — and so as dropped when it is not redelivered (a final death, or
    // stop({ drain: false }) during the restart that would have redelivered it): one more is allowed then.
    const inProcessAtDeath = this.#exits.some((e) => e.reason !== 'stopped') ? 1 : 0;
    const upper = accepted - ran - withdrawn - poisoned.size + inProcessAtDeath;
    if (dropped > Math.max(0, upper)) {
      const outcomes: Record<string, number> = {};
      for (const s of this.#sends) bump(outcomes, `send ${s.state}${s.state === 'rejected' ? ` ${codeOf(s.error)}: ${messageOf(s.error).slice(0, 60)}` : ''}${this.ledger.count(s.seq) > 0 ? ' ran' : ''}`);
      for (const r of this.#requests) bump(outcomes, `request ${r.state}${r.state === 'rejected' ? ` ${codeOf(r.error)} ${r.rejectClass}: ${messageOf(r.error).slice(0, 60)}` : ''}${this.ledger.count(r.seq) > 0 ? ' ran' : ''}`);
      v.push(`[dropped] the exit counts ${dropped} dropped, more than the ${upper} accepted commands that neither ran, were withdrawn nor quarantined (accepted ${accepted}, ran ${ran}, withdrawn ${withdrawn}, poisoned ${poisoned.size}; ${JSON.stringify(outcomes)})`);
    }

    // The strict rules when the run ended with a clean drained stop and nothing was corrupted (rules 1, 4, 6).
    const clean = exit !== undefined && exit.reason === 'stopped' && this.#stopDrain;
    if (clean && dropped !== 0) v.push(`[drain] stop() drained and ended 'stopped' but counts ${dropped} dropped (rule 1)`);
    if (clean && !this.#corrupted) {
      if (missing > 0) v.push(`[drain] ${missing} resolved sends never ran although stop() drained and ended 'stopped' (seqs ${missingSeqs.slice(0, 12).join(',')})`);
      for (const r of this.#requests) {
        if (r.timeoutMs !== undefined || r.controller !== undefined || r.afterStop) continue;
        if (r.state === 'rejected' && codeOf(r.error) === 'ERR_QUEUE_FULL') continue;
        const kills = r.type === TYPE_SEGFAULT || r.type === TYPE_HANG;
        if (r.state === 'rejected' && codeOf(r.error) === 'ERR_SIDECAR_POISON' && poisoned.has(r.seq)) continue; // checked above
        if (kills) {
          if (r.state !== 'rejected' || codeOf(r.error) !== 'ERR_SIDECAR_POISON') {
            v.push(`[poison] request ${r.seq} of type ${r.type} ended ${r.state === 'rejected' ? `rejected with ${codeOf(r.error)}: ${messageOf(r.error)}` : r.state}, not ERR_SIDECAR_POISON`);
          }
        } else if (r.state !== 'resolved' && !(this.#eventCorrupted && codeOf(r.error) === 'ERR_SIDECAR_CRASHED')) {
          v.push(`[unanswered] request ${r.seq} (type ${r.type}) was ${r.state}${r.state === 'rejected' ? ` with ${codeOf(r.error)}: ${messageOf(r.error)}` : ''} although stop() drained and ended 'stopped' (rule 4)`);
        }
      }
    }
  }

  /** A one-line summary of the run for failure messages. */
  describe(): string {
    const sends = this.#sends.length;
    const requests = this.#requests.length;
    return `${this.cfg.mode} ${JSON.stringify(this.cfg)}: ${sends} sends, ${requests} requests, ${this.#exits.length} exits, ${this.ledger.entries.length} ledger entries; log: ${this.log.slice(-40).join(' / ')}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The fast-check commands.

type Cmd = fc.AsyncCommand<Model, DeliveryHarness>;

class SendCmd implements Cmd {
  constructor(readonly count: number, readonly size: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: DeliveryHarness): Promise<void> {
    r.stats.commands++;
    r.send(this.count, this.size);
  }
  toString(): string {
    return `send(${this.count}×${this.size}B)`;
  }
}

class RequestCmd implements Cmd {
  constructor(
    readonly count: number,
    readonly size: number,
    readonly timeoutMs: number | undefined,
    readonly signal: 'none' | 'manual' | number,
    readonly type = TYPE_NORMAL,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: DeliveryHarness): Promise<void> {
    r.stats.commands++;
    r.request(this.count, this.size, this.type, this.timeoutMs, this.signal);
  }
  toString(): string {
    const what = this.type === TYPE_SLOW ? 'slowRequest' : 'request';
    return `${what}(${this.count}×${this.size}B${this.timeoutMs === undefined ? '' : `, timeout ${this.timeoutMs}`}${this.signal === 'none' ? '' : `, signal ${this.signal}`})`;
  }
}

class AbortCmd implements Cmd {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: DeliveryHarness): Promise<void> {
    r.stats.commands++;
    r.abort(this.pick);
  }
  toString(): string {
    return `abort(${this.pick})`;
  }
}

class FaultCmd implements Cmd {
  constructor(readonly type: number, readonly asRequest: boolean) {}
  check(m: Readonly<Model>): boolean {
    if (m.cfg.mode !== 'process' || m.faults >= MAX_FAULTS) return false;
    return this.type !== TYPE_HANG || m.hangs < MAX_HANGS;
  }
  async run(m: Model, r: DeliveryHarness): Promise<void> {
    r.stats.commands++;
    m.faults++;
    if (this.type === TYPE_HANG) m.hangs++;
    r.fault(this.type, this.asRequest);
  }
  toString(): string {
    return `${['', 'segfault', 'hang', 'crash-once'][this.type]}(${this.asRequest ? 'request' : 'send'})`;
  }
}

class KillCmd implements Cmd {
  constructor(readonly how: 'now' | 'delayed' | 'restart', readonly delayMs: number) {}
  check(m: Readonly<Model>): boolean {
    return m.cfg.mode === 'process' && m.faults < MAX_FAULTS;
  }
  async run(m: Model, r: DeliveryHarness): Promise<void> {
    r.stats.commands++;
    m.faults++;
    await r.kill(this.how, this.delayMs);
  }
  toString(): string {
    return `kill9(${this.how}${this.how === 'delayed' ? ` ${this.delayMs}ms` : ''})`;
  }
}

class CorruptCmd implements Cmd {
  constructor(readonly ring: CorruptRing, readonly target: CorruptTarget, readonly pick: number, readonly burst: number) {}
  check(m: Readonly<Model>): boolean {
    return m.cfg.mode === 'process' && m.faults < MAX_FAULTS;
  }
  async run(m: Model, r: DeliveryHarness): Promise<void> {
    r.stats.commands++;
    m.faults++;
    await r.corrupt(this.ring, this.target, this.pick, this.burst);
  }
  toString(): string {
    return `corrupt(${this.ring} ${this.target} #${this.pick}${this.burst > 0 ? ` after ${this.burst} sends` : ''})`;
  }
}

class StopCmd implements Cmd {
  constructor(readonly drain: boolean, readonly timeoutMs: number | undefined) {}
  check(m: Readonly<Model>): boolean {
    // Thread mode: a stop timeout that fires leaves the thread running with its memory (by design): no short ones.
    return !m.stopCalled && (m.cfg.mode === 'process' || this.timeoutMs === undefined);
  }
  async run(m: Model, r: DeliveryHarness): Promise<void> {
    r.stats.commands++;
    m.stopCalled = true;
    r.stop(this.drain, this.timeoutMs);
  }
  toString(): string {
    return `stop(drain ${this.drain}${this.timeoutMs === undefined ? '' : `, timeout ${this.timeoutMs}`})`;
  }
}

class PauseCmd implements Cmd {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: DeliveryHarness): Promise<void> {
    r.stats.commands++;
    await sleep(this.ms);
  }
  toString(): string {
    return `pause(${this.ms})`;
  }
}

class SettleCmd implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: DeliveryHarness): Promise<void> {
    r.stats.commands++;
    await r.settle(1500);
  }
  toString(): string {
    return 'settle';
  }
}

/**
 * The command arbitrary: one weighted choice (fc.commands picks among its arbitraries uniformly; the weights keep
 * stop() and faults rare enough that most runs do real work first). FaultCmd, KillCmd and CorruptCmd refuse thread
 * mode in check(), and fc.commands then skips them.
 */
export function commandArbitraries(): fc.Arbitrary<Cmd>[] {
  const size = fc.integer({ min: 8, max: 72 });
  const send = fc.tuple(fc.integer({ min: 1, max: 60 }), size).map(([n, s]): Cmd => new SendCmd(n, s));
  const request = fc
    .tuple(
      fc.integer({ min: 1, max: 24 }),
      size,
      fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined, freq: 2 }), // timeouts start at 1 ms: 0 is refused
      fc.oneof(fc.constant<'none'>('none'), fc.constant<'none'>('none'), fc.constant<'manual'>('manual'), fc.integer({ min: 0, max: 30 })),
    )
    .map(([n, s, t, sig]): Cmd => new RequestCmd(n, s, t, sig));
  // Slow requests (1–16 ms each inside process()) with timeouts and signals that fire while one runs: the withdrawal
  // races the runtime's claim (rule 5, wire-format §8.3).
  const slowRequest = fc
    .tuple(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 9, max: 72 }),
      fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined, freq: 4 }),
      fc.oneof(fc.constant<'none'>('none'), fc.constant<'manual'>('manual'), fc.integer({ min: 0, max: 30 })),
    )
    .map(([n, s, t, sig]): Cmd => new RequestCmd(n, s, t, sig, TYPE_SLOW));
  const abort = fc.nat(1000).map((p): Cmd => new AbortCmd(p));
  const fault = fc
    .tuple(fc.constantFrom(TYPE_SEGFAULT, TYPE_SEGFAULT, TYPE_CRASH_ONCE, TYPE_CRASH_ONCE, TYPE_HANG), fc.boolean())
    .map(([t, q]): Cmd => new FaultCmd(t, q));
  const kill = fc
    .tuple(fc.constantFrom<'now' | 'delayed' | 'restart'>('now', 'delayed', 'restart'), fc.integer({ min: 0, max: 15 }))
    .map(([h, d]): Cmd => new KillCmd(h, d));
  const corrupt = fc
    .tuple(
      fc.constantFrom<CorruptRing>('command', 'event'),
      fc.constantFrom<CorruptTarget>('tail', 'head', 'record-type', 'record-length'),
      fc.nat(1000),
      fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
    )
    .map(([ring, target, pick, burst]): Cmd => new CorruptCmd(ring, target, pick, burst));
  const stop = fc.tuple(fc.boolean(), fc.option(fc.integer({ min: 30, max: 1500 }), { nil: undefined, freq: 3 })).map(([d, t]): Cmd => new StopCmd(d, t));
  const pause = fc.integer({ min: 0, max: 25 }).map((ms): Cmd => new PauseCmd(ms));
  const settle = fc.constant<Cmd>(new SettleCmd());
  return [
    fc.oneof(
      { arbitrary: send, weight: 6 },
      { arbitrary: request, weight: 4 },
      { arbitrary: slowRequest, weight: 2 },
      { arbitrary: abort, weight: 1 },
      { arbitrary: pause, weight: 3 },
      { arbitrary: settle, weight: 1 },
      { arbitrary: fault, weight: 2 },
      { arbitrary: kill, weight: 3 },
      { arbitrary: corrupt, weight: 2 },
      { arbitrary: stop, weight: 1 },
    ),
  ];
}

/** Random configurations of a run in `mode`: rings small enough to fill (backlog), restart policies, watchdog. */
export function configArbitrary(mode: SidecarMode): fc.Arbitrary<ModelConfig> {
  const processMode = mode === 'process';
  return fc.record({
    mode: fc.constant(mode),
    restart: processMode
      ? fc.option(
          fc.record({ maxRestarts: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(1000)), backoffMs: fc.integer({ min: 0, max: 15 }) }),
          { nil: undefined, freq: 4 },
        )
      : fc.constant(undefined),
    watchdogMs: processMode ? fc.option(fc.integer({ min: 150, max: 300 }), { nil: undefined, freq: 2 }) : fc.constant(undefined),
    commandRingBytes: fc.constantFrom(1024, 2048, 65536),
    eventRingBytes: fc.constantFrom(1024, 4096, 65536),
    maxQueue: fc.option(fc.constantFrom(16, 100), { nil: undefined, freq: 3 }),
    stopTimeoutMs: fc.constant(processMode ? 2000 : 10_000),
  });
}

export interface PropertyOptions {
  mode: SidecarMode;
  maxCommands: number;
  stats: Stats;
  /** Called with every run's violations (empty when it passed) — the soak counts them instead of stopping. */
  onRun?: (violations: string[], h: DeliveryHarness) => void;
  /** Whether violations fail the property (the test) or are only reported through onRun (the soak). */
  failOnViolation: boolean;
}

/** The property: one run of a random configuration and command sequence, checked after stop(). */
export function deliveryProperty(o: PropertyOptions): fc.IAsyncPropertyWithHooks<[ModelConfig, Iterable<Cmd>]> {
  return fc.asyncProperty(configArbitrary(o.mode), fc.commands(commandArbitraries(), { maxCommands: o.maxCommands, size: 'max' }), async (cfg, cmds) => {
    const harness = await DeliveryHarness.create(cfg, o.stats);
    let violations: string[];
    try {
      try {
        await fc.asyncModelRun(
          () => ({ model: { cfg, stopCalled: false, faults: 0, hangs: 0 } satisfies Model, real: harness }),
          cmds,
        );
      } finally {
        violations = await harness.finish();
      }
    } finally {
      harness.dispose();
    }
    o.onRun?.(violations, harness);
    if (o.failOnViolation && violations.length > 0) {
      throw new Error(`${violations.length} contract violations:\n  ${violations.slice(0, 30).join('\n  ')}\nrun: ${harness.describe()}`);
    }
  });
}
