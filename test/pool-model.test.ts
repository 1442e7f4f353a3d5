/**
 * Model-based fault-injection test of the SidecarPool's contract (docs/pool.md "The contract"): fast-check generates
 * sequences of requests (plain, slow, keyed), sends, requests cancelled by an abort, a timeout or a deadline at a
 * random moment (while queued in the pool, waiting in a member's ring, or running — a hang or a slow call), pauses and,
 * in process mode, kill -9 of a member; runs them against a real pool of ledger-plugin members
 * (native/test/plugins/ledger.c: every process() that ran to its end appends one record to a shared file), stops it
 * with a drain, and checks the rules against the ledger and the promises:
 * - every promise settles, once; after stop() nothing is in flight or queued;
 * - a resolved request got its own bytes back and ran; a resolved send ran; nothing ran twice unless the later run
 *   was a flagged redelivery (a member died inside it);
 * - a request cancelled while queued in the pool or withdrawn from a member never ran; one whose member was killed to
 *   stop it never finished if it was a hang;
 * - nothing rejects with a code the run cannot explain (ERR_SIDECAR_STOPPED never: the stop drains);
 * - without kill -9, every key's requests ran in the order they were made.
 *
 * Replay: POOL_MODEL_SEED=<seed> POOL_MODEL_PATH=<path> node --test .out/test/pool-model.test.js; more runs:
 * POOL_MODEL_RUNS=<n> (per mode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SidecarPool, type SidecarError, type SidecarMode } from '../src/index.js';
import { Ledger, LEDGER_REDELIVERED } from './helpers/ledger.js';
import { MODES, testPlugin } from './helpers/sidecar-env.js';

const RUNS: Record<SidecarMode, number> = { thread: 25, process: 40 };
const MAX_COMMANDS = 16;
/** ledger.c command types. */
const NORMAL = 0;
const HANG = 2;
const SLOW = 4;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** A hang guard: resolves 'hung' after `ms` without keeping Node alive. */
const hung = (ms: number): Promise<'hung'> => new Promise((resolve) => setTimeout(() => resolve('hung'), ms).unref());

interface Record_ {
  seq: bigint;
  kind: 'request' | 'send';
  type: number;
  key: string | undefined;
  cancel: 'abort' | 'timeout' | 'deadline' | undefined;
  payload: Uint8Array;
  outcome: 'pending' | 'ok' | 'error';
  reply?: Uint8Array;
  error?: SidecarError;
  done: Promise<void>;
}

interface Real {
  pool: SidecarPool;
  mode: SidecarMode;
  records: Record_[];
  next: bigint;
  kills: number;
  unhandled: unknown[];
}

function payloadOf(seq: bigint, slowMs: number): Uint8Array {
  const p = new Uint8Array(9);
  new DataView(p.buffer).setBigUint64(0, seq, true);
  p[8] = slowMs; // ledger.c type 4 sleeps (byte 8 % 16) + 1 ms
  return p;
}

function track(real: Real, r: Omit<Record_, 'outcome' | 'done'>, promise: Promise<Uint8Array | void>): void {
  const rec = r as Record_;
  rec.outcome = 'pending';
  rec.done = promise.then(
    (reply) => {
      rec.outcome = 'ok';
      if (reply instanceof Uint8Array) rec.reply = reply;
    },
    (error: SidecarError) => {
      rec.outcome = 'error';
      rec.error = error;
    },
  );
  real.records.push(rec);
}

type Cmd = fc.AsyncCommand<object, Real>;

const keyArb = fc.constantFrom(undefined, undefined, 'a', 'b');

class RequestCmd implements Cmd {
  constructor(readonly type: number, readonly key: string | undefined, readonly slowMs: number) {}
  check = (): boolean => true;
  async run(_m: object, real: Real): Promise<void> {
    const seq = real.next++;
    const payload = payloadOf(seq, this.slowMs);
    track(real, { seq, kind: 'request', type: this.type, key: this.key, cancel: undefined, payload }, real.pool.request(payload, { type: this.type, key: this.key }));
  }
  toString = (): string => `request(type ${this.type}, key ${String(this.key)})`;
}

class SendCmd implements Cmd {
  constructor(readonly key: string | undefined) {}
  check = (): boolean => true;
  async run(_m: object, real: Real): Promise<void> {
    const seq = real.next++;
    const payload = payloadOf(seq, 0);
    track(real, { seq, kind: 'send', type: NORMAL, key: this.key, cancel: undefined, payload }, real.pool.send(payload, { key: this.key }));
  }
  toString = (): string => `send(key ${String(this.key)})`;
}

class CancelledCmd implements Cmd {
  constructor(readonly how: 'abort' | 'timeout' | 'deadline', readonly type: number, readonly afterMs: number, readonly key: string | undefined, readonly slowMs: number) {}
  check = (_m: object): boolean => true;
  async run(_m: object, real: Real): Promise<void> {
    const seq = real.next++;
    const payload = payloadOf(seq, this.slowMs);
    const ms = this.afterMs + 1;
    let promise: Promise<Uint8Array>;
    if (this.how === 'abort') {
      const controller = new AbortController();
      promise = real.pool.request(payload, { type: this.type, key: this.key, signal: controller.signal });
      if (this.afterMs === 0) controller.abort(); // at once: still queued, or in a member's ring
      else setTimeout(() => controller.abort(), this.afterMs);
    } else if (this.how === 'timeout') {
      promise = real.pool.request(payload, { type: this.type, key: this.key, timeout: ms });
    } else {
      promise = real.pool.request(payload, { type: this.type, key: this.key, deadlineMs: Date.now() + ms });
    }
    track(real, { seq, kind: 'request', type: this.type, key: this.key, cancel: this.how, payload }, promise);
  }
  toString = (): string => `${this.how}(type ${this.type}, after ${this.afterMs} ms, key ${String(this.key)})`;
}

class PauseCmd implements Cmd {
  constructor(readonly ms: number) {}
  check = (): boolean => true;
  async run(): Promise<void> {
    await sleep(this.ms);
  }
  toString = (): string => `pause(${this.ms} ms)`;
}

class KillCmd implements Cmd {
  constructor(readonly which: number) {}
  check = (): boolean => true;
  async run(_m: object, real: Real): Promise<void> {
    const members = real.pool.stats().members.filter((m) => m.pid > 0 && m.pid !== process.pid && m.state === 'ready');
    const target = members[this.which % Math.max(1, members.length)];
    if (target === undefined) return;
    try {
      process.kill(target.pid, 'SIGKILL');
      real.kills++;
    } catch {
      // it ended on its own meanwhile
    }
  }
  toString = (): string => `kill -9(member #${this.which})`;
}

function commands(mode: SidecarMode): fc.Arbitrary<Iterable<Cmd>> {
  const slow = fc.integer({ min: 0, max: 15 });
  // Thread mode: a hang could never be stopped (the pool cannot kill a thread), so only slow calls are cancelled.
  const cancelType = mode === 'process' ? fc.constantFrom(HANG, SLOW) : fc.constant(SLOW);
  const list: fc.Arbitrary<Cmd>[] = [
    fc.tuple(fc.constantFrom(NORMAL, NORMAL, SLOW), keyArb, slow).map(([t, k, s]) => new RequestCmd(t, k, s)),
    keyArb.map((k) => new SendCmd(k)),
    fc.tuple(fc.constantFrom('abort', 'timeout', 'deadline') as fc.Arbitrary<'abort' | 'timeout' | 'deadline'>, cancelType, fc.integer({ min: 0, max: 12 }), keyArb, slow)
      .map(([h, t, a, k, s]) => new CancelledCmd(h, t, a, k, s)),
    fc.integer({ min: 0, max: 12 }).map((ms) => new PauseCmd(ms)),
  ];
  if (mode === 'process') list.push(fc.integer({ min: 0, max: 1 }).map((w) => new KillCmd(w)));
  return fc.commands(list, { maxCommands: MAX_COMMANDS });
}

/** The reasons a request or send of this run may reject with. */
function allowed(real: Real, rec: Record_, budgetSmall: boolean): string[] {
  const codes: string[] = [];
  if (rec.cancel !== undefined) codes.push(rec.cancel === 'abort' ? 'ERR_ABORTED' : 'ERR_TIMEOUT');
  if (real.kills > 0) {
    codes.push('ERR_SIDECAR_POISON'); // a kill landing twice on one command quarantines it (reliability.md)
    if (budgetSmall) codes.push('ERR_SIDECAR_CRASHED');
  }
  return codes;
}

function violations(real: Real, ledger: Ledger, budgetSmall: boolean, dropped: number): string[] {
  ledger.poll();
  const out: string[] = [];
  // A send accepted by a member that then crashed for good is dropped and counted (reliability.md rule 2).
  const lostSends = real.records.filter((r) => r.kind === 'send' && r.outcome === 'ok' && !ledger.bySeq.has(r.seq)).length;
  if (lostSends > 0 && !(budgetSmall && real.kills > 0 && lostSends <= dropped)) out.push(`${lostSends} resolved sends never ran, and the stop counted ${dropped} dropped`);
  for (const rec of real.records) {
    const runs = ledger.bySeq.get(rec.seq) ?? [];
    const unflagged = runs.filter((e) => (e.flags & LEDGER_REDELIVERED) === 0).length;
    const what = `${rec.kind} ${rec.seq} (type ${rec.type}${rec.cancel === undefined ? '' : `, ${rec.cancel}`})`;
    if (rec.outcome === 'pending') out.push(`${what} never settled`);
    if (unflagged > 1) out.push(`${what} ran ${unflagged} times without the redelivery flag`);
    if (rec.outcome === 'ok') {
      if (rec.type === HANG) out.push(`${what} resolved, but a hang cannot finish`);
      if (runs.length === 0 && rec.kind === 'request') out.push(`${what} resolved but never ran`);
      if (rec.kind === 'request' && !Buffer.from(rec.reply ?? []).equals(Buffer.from(rec.payload))) out.push(`${what} got another request's reply`);
    }
    if (rec.outcome === 'error') {
      const e = rec.error!;
      if (!allowed(real, rec, budgetSmall).includes(e.code)) out.push(`${what} rejected with ${e.code}, which this run cannot explain: ${e.message}`);
      if (/still queued in the pool|was withdrawn from member/.test(e.message) && runs.length > 0) out.push(`${what} was cancelled before it started ("${e.message}") but ran`);
      if (/was killed to stop it/.test(e.message) && rec.type === HANG && runs.length > 0) out.push(`${what}: a killed hang cannot have finished`);
    }
  }
  if (real.kills === 0) {
    // Per key, the requests ran in the order they were made (the ledger is in completion order).
    for (const key of ['a', 'b']) {
      const seqs = real.records.filter((r) => r.key === key && r.outcome === 'ok').map((r) => r.seq);
      const order = seqs.map((s) => ledger.bySeq.get(s)?.[0]?.index ?? -1);
      for (let i = 1; i < order.length; i++) {
        if (order[i]! < order[i - 1]!) out.push(`key ${key}: ${String(seqs[i])} ran before ${String(seqs[i - 1])}`);
      }
    }
  }
  const s = real.pool.stats();
  if (s.inFlight !== 0 || s.queued !== 0) out.push(`after stop() ${s.inFlight} requests were in flight and ${s.queued} queued`);
  for (const u of real.unhandled) out.push(`unhandled rejection: ${String(u)}`);
  return out;
}

function envInt(name: string): number | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : Number(value);
}

for (const mode of MODES) {
  test(`a ${mode}-mode pool keeps its contract under random requests, sends, cancellations${mode === 'process' ? ' and kill -9 of members' : ''} (model-based)`, { timeout: 600_000 }, async (t) => {
    const seed = envInt('POOL_MODEL_SEED') ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
    const path = process.env.POOL_MODEL_PATH;
    const numRuns = envInt('POOL_MODEL_RUNS') ?? RUNS[mode];
    t.diagnostic(`seed ${seed} (replay: POOL_MODEL_SEED=${seed}${path === undefined ? '' : ` POOL_MODEL_PATH=${path}`})`);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    let runs = 0;
    let cancelled = 0;
    let kills = 0;
    try {
      await fc.assert(
        fc.asyncProperty(commands(mode), fc.integer({ min: 1, max: 3 }), fc.boolean(), async (cmds, concurrency, budgetSmall) => {
          const ledger = new Ledger('ns-pool-model-');
          const pool = await SidecarPool.start({
            plugin: testPlugin('ledger'),
            mode,
            size: { min: 1, max: 2 },
            concurrency,
            idleTimeoutMs: 50,
            commandRingBytes: 4096,
            eventRingBytes: 4096,
            ...ledger.sidecarOptions(mode),
            ...(mode === 'process' ? { restart: budgetSmall ? { maxRestarts: 1, backoffMs: 0 } : { maxRestarts: 1000, backoffMs: 0 } } : {}),
          });
          pool.on('error', () => {}); // member faults that reject nothing are part of the run
          const real: Real = { pool, mode, records: [], next: 1n, kills: 0, unhandled };
          try {
            await fc.asyncModelRun(() => ({ model: {}, real }), cmds);
            const exit = await Promise.race([pool.stop({ timeout: 20_000 }), hung(30_000)]);
            if (exit === 'hung') assert.fail('stop() did not settle within 30 s');
            const all = await Promise.race([Promise.all(real.records.map((r) => r.done)), hung(10_000)]);
            assert.notEqual(all, 'hung', 'every promise settled after stop()');
            await sleep(0);
            const v = violations(real, ledger, budgetSmall, exit.dropped);
            runs++;
            cancelled += real.records.filter((r) => r.cancel !== undefined).length;
            kills += real.kills;
            if (v.length > 0) {
              assert.fail(`${v.length} violations:\n  ${v.join('\n  ')}\ncommands: ${[...cmds].map(String).join(', ')}`);
            }
          } finally {
            await pool.stop({ drain: false }).catch(() => {});
            ledger.dispose();
          }
        }),
        { numRuns, seed, path, endOnFailure: process.env.POOL_MODEL_SHRINK !== '1', includeErrorInReport: true },
      );
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    t.diagnostic(`${runs} runs, ${cancelled} cancellations, ${kills} kill -9s`);
  });
}
