/**
 * The `pool` suite (issue 12): SidecarPool against the JavaScript pools a Node.js program would use instead, on the
 * same CPU-bound work, all in one run.
 *
 * The work: the hash example plugin (examples/plugins/hash.c) replies with the SHA-256 digest of the payload iterated
 * `rounds` times; every request carries the same PAYLOAD_BYTES payload and the round count is ROUNDS (the plugin's
 * config), i.e. HASH_BLOCKS SHA-256 blocks per request. The JavaScript baselines compute the identical digest with
 * node:crypto (bench/baselines/pool-hash.ts); each scenario checks once, before it is measured, that its
 * implementation returns the digest node:crypto computes here, and a wrong digest fails the suite with a sentence.
 * `pool.node-crypto.digest-cost` states what one request's digest costs in JavaScript (a synchronous loop on this
 * thread); the plugin's cost is bounded by the member CPU per request of the 1-member row ("cpu peer/msg").
 *
 * 1. Throughput (pattern 'pipelined', IN_FLIGHT requests kept outstanding from this thread, each completion starts
 *    the next): SidecarPool in process mode with 1 and 2 members (defaults: concurrency 1, waitPolicy 'park'), 2
 *    members with concurrency 4, and 1 and 2 members with waitPolicy { mode: 'spin-then-park' } (a single Sidecar's
 *    default: shows what spinning on the JavaScript thread that serves every member costs the scaling); piscina (node:crypto in worker threads) with 1 and 2 threads; a plain child_process pool (fork(),
 *    JSON IPC with the payload as base64, least-busy dispatch; bench/baselines/child-pool.ts) with 1 and 2 children.
 *    `<impl>.scaling-2-vs-1` (pattern 'resource', unit 'ratio') is msgs/s with 2 workers over msgs/s with 1.
 * 2. Latency under a paced open-loop load (pattern 'paced', bench/paced.ts openLoop(): each request's latency from its
 *    intended send time, coordinated omission corrected) at 50 % and 90 % of the 2-member pool's throughput measured
 *    in the same run, on the same pool.
 * 3. Cancellation (pattern 'resource', latency_ns and the p50 in ms): a 1-member pool whose requests hash for
 *    ABORT_ROUNDS rounds (seconds); a request is started, left running RUNNING_MS after it is on the member, then its
 *    AbortSignal is aborted: `abort-to-reject` is the time from abort() to the request's rejection (ERR_ABORTED)
 *    reaching its handler, `abort-to-restart` the time from abort() to the pool's 'member' event { what: 'restarted',
 *    cause: 'cancel' } for that member (its new process is ready). ABORTS times (fewer in smoke depth).
 * Throughput and paced scenarios run ctx.runs times (the median run is reported, with its spread); the two rows of a
 * scaling pair are open together and their runs alternate, so that the drift of a shared machine hits both alike. Each
 * implementation first gets openWarmMs() of unmeasured load (a fresh pool needs about half a second to reach its
 * steady throughput). Main JavaScript
 * thread only; every pool, thread and child is stopped before run() returns, also when a scenario fails.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { Piscina } from 'piscina';

import { SidecarPool, examplePluginPath, type MemberChange } from '../src/index.js';
import type { BenchContext, BenchResult, ScenarioPlan, SuiteResult } from './lib/contract.js';
import { inProcessSides, processCpuNs, threadCpuNs, type CpuSides } from './lib/cpu.js';
import { LatencyHistogram } from './lib/histogram.js';
import { sizeLabel, sizeTag } from './lib/scenarios.js';
import { calls, nowNs, payload, pipelined, repeat, result, summarize, warmupMs, type RunFigures } from './baselines/alt-measure.js';
import { ChildPool } from './baselines/child-pool.js';
import { hex, iteratedDigest, roundsConfig } from './baselines/pool-hash.js';
import { openLoop } from './paced.js';

const SUITE = 'pool';
/** Payload of every request: 4 KiB, a size no other suite uses, so the report's per-size charts keep it apart. */
export const PAYLOAD_BYTES = 4096;
/** Rounds of the hash: with PAYLOAD_BYTES, tens of µs of hashing per request both in C and with node:crypto. */
export const ROUNDS = 16;
/** SHA-256 blocks per request: the payload with its padding, then one block per further round (a 32-byte digest). */
export const HASH_BLOCKS = Math.floor((PAYLOAD_BYTES + 8) / 64) + 1 + (ROUNDS - 1);
/** Requests kept outstanding by the throughput scenarios. */
export const IN_FLIGHT = 64;
const LOADS = [0.5, 0.9] as const;
/** Rounds of the cancellation pool's requests: seconds of hashing each, far longer than an abort takes. */
export const ABORT_ROUNDS = 10_000_000;
/** How long a cancelled request runs on its member before abort(). */
export const RUNNING_MS = 5;
const SUSTAINED = 0.95;
const REJECT_LIMIT_MS = 5_000;
const RESTART_LIMIT_MS = 30_000;

const TAG = sizeTag(PAYLOAD_BYTES);
const WORK = `${sizeLabel(PAYLOAD_BYTES)} payload, SHA-256 iterated ${ROUNDS} rounds (${HASH_BLOCKS} blocks per request)`;

/**
 * Unmeasured load at the opening of each implementation, before its runs, ms: a fresh pool (and a plain Sidecar alike)
 * took about 0.5–0.7 s of this load to reach its steady throughput here (JIT, the adaptive spin budget, caches).
 */
function openWarmMs(ctx: BenchContext): number {
  return ctx.depth === 'smoke' ? 20 : ctx.depth === 'quick' ? 800 : 2000;
}

/** Keeps IN_FLIGHT requests outstanding for `ms`, measuring nothing. */
async function warm(target: Target, p: Uint8Array, ms: number): Promise<void> {
  const end = nowNs() + ms * 1e6;
  const lane = async (): Promise<void> => {
    while (nowNs() < end) await target.request(p);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

function aborts(ctx: BenchContext): number {
  return ctx.depth === 'smoke' ? 5 : ctx.depth === 'quick' ? 20 : 50;
}

/** An open implementation: requests answered with the digest, the CPU sides, and how to stop it. */
export interface Target {
  request(p: Uint8Array): Promise<Uint8Array>;
  sides: CpuSides;
  close(): Promise<void>;
}

interface Impl {
  /** Id part: `pool.<key>.pipelined.4k`. */
  key: string;
  /** The implementation family, for the scaling rows: `pool.<family>.scaling-2-vs-1`. */
  family: 'sidecar-pool' | 'sidecar-pool-spin' | 'piscina' | 'child-process-json';
  workers: number;
  transport: string;
  kind: 'ours' | 'alternative';
  /** Estimate of the wall time of opening it, ms. */
  openMs: number;
  note: string;
  open(): Promise<Target>;
}

/**
 * A SidecarPool's sides: this thread, and every thread of every member process. The member pids are read once from
 * stats() and then kept from the 'member' events: stats() does work on the JavaScript thread (it summarises the
 * pool's histograms), which a reading at the edge of a measurement window must not add to it.
 */
function poolSides(pool: SidecarPool): CpuSides {
  const pids = new Map<number, number>(pool.stats().members.map((m) => [m.member, m.pid]));
  pool.on('member', (change: MemberChange) => {
    if (change.what === 'stopped' || change.what === 'failed') pids.delete(change.member);
    else pids.set(change.member, change.pid);
  });
  return {
    js: () => threadCpuNs(),
    peer: () => {
      let sum = 0;
      for (const pid of pids.values()) sum += processCpuNs(pid);
      return sum;
    },
  };
}

/**
 * A SidecarPool of `size` process-mode members; `concurrency` and `spin` (waitPolicy { mode: 'spin-then-park' }, the
 * single Sidecar's default, instead of the pool's default 'park') are the only options changed from the defaults.
 */
function sidecarPool(size: number, concurrency: number | undefined, spin = false): Impl {
  const c = concurrency === undefined ? '' : `-concurrency-${concurrency}`;
  const options = [`size: ${size}`, ...(concurrency === undefined ? [] : [`concurrency: ${concurrency}`]), ...(spin ? ["waitPolicy: { mode: 'spin-then-park' }"] : []), 'config: rounds'];
  return {
    key: `sidecar-pool.size-${size}${c}${spin ? '-spin' : ''}`,
    family: spin ? 'sidecar-pool-spin' : 'sidecar-pool',
    workers: concurrency === undefined ? size : NaN, // the concurrency-4 row is not one of the scaling pair
    transport: `SidecarPool, hash plugin, process mode, ${size} member${size === 1 ? '' : 's'}, concurrency ${concurrency ?? '1 (default)'}${spin ? ", waitPolicy 'spin-then-park'" : ''}`,
    kind: 'ours',
    openMs: 120 * size + 50,
    note: `SidecarPool.start({ plugin: examplePluginPath('hash'), mode: 'process', ${options.join(', ')} }), other options default. CPU peer: every member process.`,
    open: async () => {
      const pool = await SidecarPool.start({
        plugin: examplePluginPath('hash'),
        mode: 'process',
        size,
        config: roundsConfig(ROUNDS),
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(spin ? { waitPolicy: { mode: 'spin-then-park' as const } } : {}),
      });
      return { request: (p) => pool.request(p), sides: poolSides(pool), close: async () => void (await pool.stop()) };
    },
  };
}

function piscinaPool(threads: number): Impl {
  return {
    key: `piscina.threads-${threads}`,
    family: 'piscina',
    workers: threads,
    transport: `piscina ${Piscina.version}, node:crypto in ${threads} worker thread${threads === 1 ? '' : 's'}`,
    kind: 'alternative',
    openMs: 60 * threads + 50,
    note: `new Piscina({ filename: bench/baselines/pool-hash-worker.js, minThreads: ${threads}, maxThreads: ${threads} }), other options default (concurrentTasksPerWorker 1); run({ data, rounds }) with the payload structured-cloned to the worker. CPU peer: every thread of this process but the main one.`,
    open: async () => {
      const pool = new Piscina({ filename: fileURLToPath(new URL('./baselines/pool-hash-worker.js', import.meta.url)), minThreads: threads, maxThreads: threads });
      return {
        request: (p) => pool.run({ data: p, rounds: ROUNDS }) as Promise<Uint8Array>,
        sides: inProcessSides(),
        close: () => pool.destroy(),
      };
    },
  };
}

function childPool(children: number): Impl {
  return {
    key: `child-process-json.children-${children}`,
    family: 'child-process-json',
    workers: children,
    transport: `child_process pool, fork() × ${children}, JSON IPC, node:crypto`,
    kind: 'alternative',
    openMs: 80 * children + 50,
    note: "Each request { i, d } with the payload as base64 goes to the child with the fewest requests outstanding; the child replies { i, h } with the digest as base64 (serialization 'json'). CPU peer: every child process.",
    open: async () => {
      const pool = await ChildPool.start(children, ROUNDS);
      const pids = pool.pids;
      return {
        request: (p) => pool.request(p),
        sides: { js: () => threadCpuNs(), peer: () => pids.reduce((sum, pid) => sum + processCpuNs(pid), 0) },
        close: () => pool.close(),
      };
    },
  };
}

/**
 * The implementations in groups: the members of a group are open at the same time and their runs alternate (run 1 of
 * each, then run 2 of each, …), so that the drift of a shared machine hits the 1-worker and the 2-worker row of a
 * scaling pair alike. Idle members of a group wait parked (or blocked) while another one is measured.
 */
function groups(): Impl[][] {
  return [
    [sidecarPool(1, undefined), sidecarPool(2, undefined)],
    [sidecarPool(2, 4)],
    [sidecarPool(1, undefined, true), sidecarPool(2, undefined, true)],
    [piscinaPool(1), piscinaPool(2)],
    [childPool(1), childPool(2)],
  ];
}

function impls(): Impl[] {
  return groups().flat();
}

/** The pool whose paced latency is measured: 2 members, default concurrency. */
const PACED_KEY = 'sidecar-pool.size-2';
const FAMILY_NAMES: Record<Impl['family'], string> = {
  'sidecar-pool': 'SidecarPool, members',
  'sidecar-pool-spin': "SidecarPool with waitPolicy 'spin-then-park', members",
  piscina: 'piscina, worker threads',
  'child-process-json': 'child_process pool, children',
};
const loadKey = (f: number): string => `load-${Math.round(f * 100)}`;
const throughputId = (i: Impl): string => `${SUITE}.${i.key}.pipelined.${TAG}`;
const pacedId = (f: number): string => `${SUITE}.${PACED_KEY}.${loadKey(f)}.${TAG}`;
const scalingId = (family: Impl['family']): string => `${SUITE}.${family}.scaling-2-vs-1`;
const COST_ID = `${SUITE}.node-crypto.digest-cost`;
const REJECT_ID = `${SUITE}.sidecar-pool.abort-to-reject`;
const RESTART_ID = `${SUITE}.sidecar-pool.abort-to-restart`;
const throughputTitle = (i: Impl): string => `${i.transport}: throughput, ${IN_FLIGHT} in flight, ${WORK}`;
const pacedTitle = (f: number): string => `SidecarPool, hash plugin, process mode, 2 members: paced open loop at ${Math.round(f * 100)} % of its throughput, ${WORK}`;
const COST_TITLE = `node:crypto iterated digest on the main thread, ${WORK}`;
const ABORT_TITLE = `SidecarPool, 1 member, process mode: abort() of a running request → rejection, and → its member restarted`;

/** One run's wall time of a throughput or paced scenario, ms. */
function runMs(ctx: BenchContext): number {
  return ctx.durationMs + warmupMs(ctx) + 20;
}

/** The scenarios run() will announce, in order, with an estimate of each one's duration. */
export function plan(ctx: BenchContext): ScenarioPlan[] {
  const out: ScenarioPlan[] = [];
  if (ctx.selected(COST_ID)) out.push({ id: COST_ID, title: COST_TITLE, estimateMs: ctx.runs * runMs(ctx) + openWarmMs(ctx) });
  for (const i of impls()) {
    const id = throughputId(i);
    if (ctx.selected(id)) out.push({ id, title: throughputTitle(i), estimateMs: ctx.runs * runMs(ctx) + i.openMs + openWarmMs(ctx) });
    if (i.key === PACED_KEY) {
      for (const f of LOADS) {
        if (ctx.selected(pacedId(f))) out.push({ id: pacedId(f), title: pacedTitle(f), estimateMs: ctx.runs * runMs(ctx) + warmupMs(ctx) });
      }
    }
  }
  if (ctx.selected(REJECT_ID) || ctx.selected(RESTART_ID)) {
    out.push({ id: ctx.selected(REJECT_ID) ? REJECT_ID : RESTART_ID, title: ABORT_TITLE, estimateMs: 200 + aborts(ctx) * 90 });
  }
  return out;
}

/** Fails with a sentence unless `target` answers the payload with the digest node:crypto computes (`expected`). */
export async function verifyDigest(transport: string, target: Target, p: Uint8Array, expected: Uint8Array): Promise<void> {
  const got = await target.request(p);
  if (!Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(expected)) {
    throw new Error(
      `${transport} answered the ${sizeLabel(p.byteLength)} payload at ${ROUNDS} rounds with the digest ${hex(got)} (${got.byteLength} bytes), but node:crypto computes ${hex(expected)}: the implementations do not do the same work, so their figures cannot be compared.`,
    );
  }
}

/** The digest cost in JavaScript: the synchronous node:crypto loop on this thread, ns per request. */
async function digestCost(ctx: BenchContext, p: Uint8Array): Promise<BenchResult> {
  const warmEnd = nowNs() + openWarmMs(ctx) * 1e6;
  while (nowNs() < warmEnd) iteratedDigest(p, ROUNDS);
  const r = await repeat(ctx, () => calls(ctx, () => void iteratedDigest(p, ROUNDS), { js: () => threadCpuNs(), peer: () => NaN }));
  const ns = r.figures.ns_per_call ?? NaN;
  return {
    suite: SUITE,
    id: COST_ID,
    scenario: COST_TITLE,
    transport: 'node:crypto (createHash per round), main thread',
    kind: 'alternative',
    pattern: 'resource',
    value: Math.round(ns / 10) / 100,
    unit: 'µs per request',
    latency_ns: r.figures.latency_ns!,
    runs: r.runs,
    spread: r.spread,
    note: `What one request's digest costs in JavaScript, without a pool: iteratedDigest() (createHash().update().digest() per round) called in a loop on the main thread, each call timed. The plugin's cost per request is at most the "cpu peer/msg" of ${throughputId(sidecarPool(1, undefined))} (member CPU, its ring handling and waiting included).`,
  };
}

interface AbortFigures {
  /** A bare AbortController.abort() with one listener on this thread, the median of BARE_ABORTS, ns. */
  bareAbortNs: number;
  reject: LatencyHistogram;
  restart: LatencyHistogram;
  cancelKills: number;
  restarts: number;
}

const BARE_ABORTS = 21;

/** What Node's own part of an abort costs: AbortController.abort() with one listener, the median of BARE_ABORTS, ns. */
function bareAbortNs(): number {
  const times: number[] = [];
  for (let i = 0; i < BARE_ABORTS; i++) {
    const controller = new AbortController();
    controller.signal.addEventListener('abort', () => undefined, { once: true });
    const t0 = nowNs();
    controller.abort();
    times.push(nowNs() - t0);
  }
  return times.sort((a, b) => a - b)[BARE_ABORTS >> 1]!;
}

/**
 * The cancellation scenario: `n` times, a request to a 1-member pool hashing ABORT_ROUNDS rounds is started, left
 * RUNNING_MS running once it is on its member, and aborted. Fails with a sentence when a request completes, rejects
 * with another code than ERR_ABORTED, or when the rejection or the restart does not come within its limit.
 */
async function abortTimes(n: number, p: Uint8Array): Promise<AbortFigures> {
  const pool = await SidecarPool.start({ plugin: examplePluginPath('hash'), mode: 'process', size: 1, config: roundsConfig(ABORT_ROUNDS) });
  let waiting: { member: number; resolve: (t: number) => void } | undefined;
  pool.on('member', (change: MemberChange) => {
    const t = nowNs();
    if (waiting !== undefined && change.what === 'restarted' && change.cause === 'cancel' && change.member === waiting.member) {
      const w = waiting;
      waiting = undefined;
      w.resolve(t);
    }
  });
  const figures: AbortFigures = { bareAbortNs: bareAbortNs(), reject: new LatencyHistogram(), restart: new LatencyHistogram(), cancelKills: 0, restarts: 0 };
  // The limit's timer is referenced (a pending wait keeps the process alive until it fails) and cleared once settled.
  const within = async <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)));
    try {
      return await Promise.race([promise, limit]);
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    for (let i = 0; i < n; i++) {
      const controller = new AbortController();
      let rejectedAt = 0;
      const settled = pool.request(p, { signal: controller.signal }).then(
        () => {
          throw new Error(`A request of ${ABORT_ROUNDS} rounds to the cancellation pool completed instead of being aborted (attempt ${i + 1}); the abort measurement needs requests that run for seconds.`);
        },
        (e: unknown) => {
          rejectedAt = nowNs();
          return e;
        },
      );
      // On its member, then running for RUNNING_MS.
      const onMember = async (): Promise<number> => {
        for (;;) {
          const busy = pool.stats().members.find((m) => m.inFlight > 0);
          if (busy !== undefined) return busy.member;
          await sleep(1);
        }
      };
      const member = await within(onMember(), RESTART_LIMIT_MS, `The cancellation pool did not put request ${i + 1} on a member within ${RESTART_LIMIT_MS} ms.`);
      await sleep(RUNNING_MS);
      const restarted = new Promise<number>((resolve) => (waiting = { member, resolve }));
      const t0 = nowNs();
      controller.abort();
      const error = await within(settled, REJECT_LIMIT_MS, `The aborted request ${i + 1} had not rejected ${REJECT_LIMIT_MS} ms after abort().`);
      const code = (error as { code?: unknown } | null)?.code;
      if (code !== 'ERR_ABORTED') {
        throw new Error(`The aborted request ${i + 1} rejected with ${String(code ?? error)} instead of ERR_ABORTED: ${error instanceof Error ? error.message : String(error)}`);
      }
      const restartedAt = await within(restarted, RESTART_LIMIT_MS, `Member ${member} was not reported { what: 'restarted', cause: 'cancel' } within ${RESTART_LIMIT_MS} ms of abort() (attempt ${i + 1}).`);
      figures.reject.record(rejectedAt - t0);
      figures.restart.record(restartedAt - t0);
    }
    const s = pool.stats();
    figures.cancelKills = s.cancelKills;
    figures.restarts = s.restarts;
  } finally {
    waiting = undefined;
    await pool.stop({ drain: false });
  }
  return figures;
}

function abortResult(id: string, what: string, h: LatencyHistogram, note: string): BenchResult {
  const s = h.summary();
  return {
    suite: SUITE,
    id,
    scenario: `SidecarPool, 1 member, process mode: time from abort() of a running request to ${what}`,
    transport: 'SidecarPool process mode',
    kind: 'ours',
    pattern: 'resource',
    latency_ns: s,
    value: Math.round(s.p50 / 1e4) / 100,
    unit: 'ms',
    runs: 1,
    note,
  };
}

/** One paced scenario on the open `target` at `f` × `capacity` (the throughput of row `capacityId` in this run). */
async function pacedRun(ctx: BenchContext, impl: Impl, target: Target, p: Uint8Array, f: number, capacity: number, capacityId: string): Promise<BenchResult> {
  const id = pacedId(f);
  ctx.begin(id, pacedTitle(f));
  const rate = capacity * f;
  const runNotes: string[] = [];
  let runNo = 0;
  await openLoop(target, p, rate, warmupMs(ctx));
  const o = await repeat(ctx, async () => {
    runNo++;
    const w = await openLoop(target, p, rate, ctx.durationMs);
    if (w.achieved < SUSTAINED * rate) runNotes.push(`Not sustained in run ${runNo}: achieved ${Math.round(w.achieved)}/s of ${Math.round(rate)}/s offered (< 95 %).`);
    if (w.refused > 0) runNotes.push(`Run ${runNo}: ${w.refused} requests were refused with ERR_QUEUE_FULL and are missing from the histogram.`);
    if (w.lost > 0) runNotes.push(`Run ${runNo}: ${w.lost} replies had not arrived 5 s after the window and are missing from the histogram.`);
    return w;
  });
  const res = result(
    {
      suite: SUITE,
      id,
      scenario: pacedTitle(f),
      transport: impl.transport,
      kind: impl.kind,
      pattern: 'paced',
      message_bytes: PAYLOAD_BYTES,
      note: [
        `Open loop (bench/paced.ts openLoop()): request i is due at t0 + i/rate, its latency is completion − due time (coordinated omission corrected); the rate is ${Math.round(f * 100)} % of ${capacityId}'s throughput in this run (${Math.round(capacity)}/s); msgs_per_s is the achieved rate. ${WORK}.`,
        ...runNotes,
      ].join(' '),
    },
    o,
  );
  res.offered_per_s = Math.round(rate);
  res.load_fraction = f;
  const js = res.cpu_ns_per_msg?.js;
  if (js !== undefined && res.msgs_per_s !== undefined) {
    const busy = Math.min(100, Math.round((js * res.msgs_per_s) / 1e7));
    res.note += ` This thread (the pacer, which busy-waits in slices, and the replies) was on a CPU about ${busy} % of the window, beside the members, on a ${os.availableParallelism()}-core machine.`;
  }
  const l = res.latency_ns;
  ctx.log(`${id}: offered ${res.offered_per_s}/s, achieved ${res.msgs_per_s}/s, p50 ${l?.p50} ns, p99 ${l?.p99} ns, p99.9 ${l?.p999} ns (spread ${res.spread})`);
  return res;
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const p = payload(PAYLOAD_BYTES);
  const expected = iteratedDigest(p, ROUNDS);
  const results: BenchResult[] = [];

  if (ctx.selected(COST_ID)) {
    ctx.begin(COST_ID, COST_TITLE);
    const r = await digestCost(ctx, p);
    results.push(r);
    ctx.log(`${COST_ID}: ${r.value} µs per request`);
  }

  const throughput = new Map<string, BenchResult>();
  for (const group of groups()) {
    const pacedLoads = (impl: Impl): number[] => (impl.key === PACED_KEY ? LOADS.filter((f) => ctx.selected(pacedId(f))) : []);
    const wanted = group.filter((impl) => ctx.selected(throughputId(impl)) || pacedLoads(impl).length > 0);
    if (wanted.length === 0) continue;
    const open: { impl: Impl; target: Target; runs: RunFigures[] }[] = [];
    try {
      for (const impl of wanted) {
        if (ctx.selected(throughputId(impl)) && open.length === 0) ctx.begin(throughputId(impl), throughputTitle(impl));
        const target = await impl.open();
        open.push({ impl, target, runs: [] });
        await verifyDigest(impl.transport, target, p, expected);
      }
      for (const o of open) await warm(o.target, p, openWarmMs(ctx));
      // The paced scenarios need the capacity even when the throughput row itself is not selected.
      for (let r = 0; r < ctx.runs; r++) {
        for (const [k, o] of open.entries()) {
          if (r === 0 && k > 0 && ctx.selected(throughputId(o.impl))) ctx.begin(throughputId(o.impl), throughputTitle(o.impl));
          o.runs.push(await pipelined(ctx, () => o.target.request(p), IN_FLIGHT, o.target.sides));
        }
      }
      for (const o of open) {
        const id = throughputId(o.impl);
        const others = open.filter((x) => x !== o).map((x) => throughputId(x.impl));
        const alternation = others.length === 0 ? '' : ` Its runs alternated with those of ${others.join(', ')}.`;
        const res = result(
          {
            suite: SUITE,
            id,
            scenario: throughputTitle(o.impl),
            transport: o.impl.transport,
            kind: o.impl.kind,
            pattern: 'pipelined',
            message_bytes: PAYLOAD_BYTES,
            note: `${WORK}; digest checked against node:crypto. ${o.impl.note}${alternation}`,
          },
          summarize(o.runs),
        );
        if (ctx.selected(id)) {
          results.push(res);
          throughput.set(o.impl.key, res);
          ctx.log(`${id}: ${res.msgs_per_s} msgs/s, cpu js ${res.cpu_ns_per_msg?.js ?? '-'} ns, peer ${res.cpu_ns_per_msg?.peer ?? '-'} ns per request (spread ${res.spread})`);
        }
        const capacity = res.msgs_per_s ?? NaN;
        for (const f of pacedLoads(o.impl)) results.push(await pacedRun(ctx, o.impl, o.target, p, f, capacity, id));
      }
    } finally {
      for (const o of open) await o.target.close();
    }
  }

  for (const family of ['sidecar-pool', 'sidecar-pool-spin', 'piscina', 'child-process-json'] as const) {
    const id = scalingId(family);
    const pair = impls().filter((i) => i.family === family && (i.workers === 1 || i.workers === 2));
    const one = throughput.get(pair.find((i) => i.workers === 1)!.key);
    const two = throughput.get(pair.find((i) => i.workers === 2)!.key);
    if (!ctx.selected(id) || one?.msgs_per_s === undefined || two?.msgs_per_s === undefined) continue;
    const ratio = Math.round((two.msgs_per_s / one.msgs_per_s) * 1000) / 1000;
    results.push({
      suite: SUITE,
      id,
      scenario: `${FAMILY_NAMES[family]}: throughput with 2 / with 1 (${WORK})`,
      transport: two.transport,
      kind: two.kind,
      pattern: 'resource',
      value: ratio,
      unit: 'ratio',
      runs: Math.min(one.runs, two.runs),
      note: `${two.msgs_per_s}/s (${two.id}) over ${one.msgs_per_s}/s (${one.id}), the median runs of this run; ${IN_FLIGHT} requests in flight from one JavaScript thread, which also needs a core: on this ${os.availableParallelism()}-core machine 2 workers and the sender share the cores.`,
    });
  }

  if (ctx.selected(REJECT_ID) || ctx.selected(RESTART_ID)) {
    ctx.begin(ctx.selected(REJECT_ID) ? REJECT_ID : RESTART_ID, ABORT_TITLE);
    const n = aborts(ctx);
    const a = await abortTimes(n, p);
    const perBlock = throughput.get('sidecar-pool.size-1')?.cpu_ns_per_msg?.peer;
    const long = perBlock === undefined ? '' : ` (about ${((perBlock / HASH_BLOCKS) * ABORT_ROUNDS / 1e9).toFixed(1)} s each at the member CPU per block the 1-member throughput row implies, an upper bound)`;
    const common = `${n} requests to SidecarPool.start({ plugin: hash, mode: 'process', size: 1, config: ${ABORT_ROUNDS} rounds })${long}, each aborted ${RUNNING_MS} ms after the pool's stats showed it on the member; pool stats afterwards: ${a.cancelKills} cancel kills, ${a.restarts} restarts. For scale: a bare AbortController.abort() with one listener takes ${(a.bareAbortNs / 1e3).toFixed(1)} µs on this thread (median of ${BARE_ABORTS}).`;
    if (ctx.selected(REJECT_ID)) {
      results.push(abortResult(REJECT_ID, 'its rejection (ERR_ABORTED)', a.reject, `From just before controller.abort() to the request's rejection handler running. ${common}`));
    }
    if (ctx.selected(RESTART_ID)) {
      results.push(abortResult(RESTART_ID, "the 'member' event { what: 'restarted', cause: 'cancel' } (the replacement process is ready)", a.restart, `From just before controller.abort() to the pool's 'member' event for that member. ${common}`));
    }
    for (const r of results.slice(-2)) if (r.id === REJECT_ID || r.id === RESTART_ID) ctx.log(`${r.id}: p50 ${r.latency_ns?.p50} ns, p99 ${r.latency_ns?.p99} ns, max ${r.latency_ns?.max} ns`);
  }
  return { results, checks: [] };
}

