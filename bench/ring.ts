/**
 * The `ring` suite (issues 2 and 11): what the shared-memory ring achieves from JavaScript, next to the limits it is
 * compared with, all measured in this run (each ratio's two sides run back to back: the load of this shared machine
 * changes within seconds).
 *
 * Scenarios (JS is always the main thread of this process; the native side is the project's peer program in the
 * mode named, see native/test/peer.h; ids `ring.<transport>.<pattern>.<variant>.<size>`):
 * - the C ring limit at 32 B (bench_baselines c_ring_limit: C producer and consumer that do nothing else) — the
 *   figure the per-record target is a fraction of, measured here so that the ratio is same-run;
 * - one way JS → native thread / native process at each size of ctx.sizes, per-record stage() and one publish()
 *   per BATCH records; the peer (`sink`, spin policy) consumes and counts, and its final count must equal what JS
 *   wrote. At 32 B also the batch APIs: stageMany (packed records from one buffer) and stageFrames (records already
 *   framed as the ring lays them out) — at sizes up to 1 KiB. At sizes ≥ 64 KiB also claim() + one TypedArray.set + commit();
 * - one way and round trip JS ↔ JS: the main thread and a worker_thread on a Ring over a SharedArrayBuffer
 *   (bench/lib/sab-peer.ts), both spinning;
 * - round trip JS ↔ native process, 32 B: spin (JS spins on peek(), the echo peer spins), park with the default
 *   parker (JS awaits readable() with policy 'park'; the peer parks on its futex), park with an EventfdParker (the
 *   event loop watches an eventfd the peer writes, wire-format §5.1.1);
 * - C spin and C futex ping-pong (bench_baselines), the limits of the two round trips.
 * CPU time per message (or per round trip) on each side comes from /proc schedstat (bench/lib/cpu.ts): a native
 * thread's share is the process's time minus the main thread's (an upper bound: Node's helper threads count too).
 * docs/benchmarks.md describes every scenario and what limits it.
 */
import { Worker } from 'node:worker_threads';

import { EventfdParker, Ring, SharedRegion, regionLayout, ringLayout, type Parker } from '../src/index.js';
import { startProcessPeer, startThreadPeer, type PeerOptions, type PeerResult } from '../src/testing/peers.js';

import { cId, cLine, cResult, cTitle, runC, type CScenario } from './baselines/c.js';
import { check, type BenchContext, type BenchResult, type CpuPerMessage, type ScenarioPlan, type SuiteResult, type TargetCheck } from './lib/contract.js';
import { cpuPerMessage, readCpu, type CpuSides } from './lib/cpu.js';
import { childProcessSides, inProcessSides } from './lib/cpu.js';
import { byId, planOf, pow2AtLeast, runScenarios, sizeLabel, sizeTag, type Scenario } from './lib/scenarios.js';
import { durations, measureRoundTrips, measureRoundTripsSync, nowNs, perSecond } from './lib/timing.js';

const SUITE = 'ring';
const RECORD_TYPE = 1;
/** The record type that ends a JS ↔ JS stream (bench/lib/sab-peer.ts). */
const END_TYPE = 2;
const SMALL_BYTES = 32;
const MIN_CAPACITY = 256 * 1024;
const BATCH = 64;
const RTT_CAPACITY = 64 * 1024;
/** A round trip that takes longer than this means the peer is gone: fail instead of hanging. */
const REPLY_TIMEOUT_MS = 5000;
/** Records per ns_ring_read() of the sink (one head store per batch). */
const SINK_READ_BATCH = 4096;

type PeerKind = 'thread' | 'process';
type SmallApi = 'stage' | 'stageMany' | 'stageFrames';

/** A running peer: `finish()` waits for its result and throws unless it is ok; `dispose()` stops it if still running. */
interface Peer {
  sides: CpuSides;
  finish(): Promise<PeerResult>;
  dispose(): Promise<void>;
}

function startPeer(kind: PeerKind, region: SharedRegion, options: PeerOptions): Peer {
  const handle = kind === 'thread' ? startThreadPeer(region, options) : startProcessPeer(region, options);
  const pid = (handle as { child?: { pid?: number } }).child?.pid;
  let settled = false;
  const done = handle.done.finally(() => (settled = true));
  done.catch(() => undefined); // observed by finish(); a failure while the scenario itself throws must not go unhandled
  return {
    sides: pid === undefined ? inProcessSides() : childProcessSides(pid),
    async finish() {
      const r = await done;
      if (!r.ok) throw new Error(`The ${kind} peer (${options.mode}) failed: ${r.code}${r.error ? ` — ${r.error}` : ''}.`);
      return r;
    },
    async dispose() {
      if (settled) return;
      handle.stop();
      await done.catch(() => undefined);
    },
  };
}

/** A region with one ring segment per capacity. */
interface Rings {
  region: SharedRegion;
  rings: Ring[];
  segments: number[];
}

function makeRings(capacities: number[], options: { park: boolean; parker?: Parker }): Rings {
  const align = (n: number): number => Math.ceil(n / regionLayout.SEGMENT_ALIGN) * regionLayout.SEGMENT_ALIGN;
  const size = Math.max(regionLayout.REGION_MIN_SIZE, capacities.reduce((sum, c) => sum + align(Ring.segmentSize(c)), regionLayout.REGION_HEADER_SIZE));
  const region = SharedRegion.create({ size });
  const rings: Ring[] = [];
  const segments: number[] = [];
  for (const capacity of capacities) {
    rings.push(region.createRing(capacity, { ...(options.parker ? { parker: options.parker } : {}), waitPolicy: { mode: options.park ? 'park' : 'spin' } }));
    segments.push(region.segments.length - 1);
  }
  return { region, rings, segments };
}

/** Ring capacity for one-way records of `bytes`: room for at least 16 records, at least 256 KiB (as the C limit). */
function capacityFor(bytes: number): number {
  return Math.max(MIN_CAPACITY, pow2AtLeast(16 * ringLayout.recordSize(bytes)));
}

/**
 * Gives the core away for a moment when a bounded spin found nothing: on a loaded 2-core machine the peer may be
 * waiting for exactly this core. Atomics.wait on a private cell is a sleep (it is never notified).
 */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function pause(): void {
  Atomics.wait(sleepCell, 0, 0, 0.02);
}
const SPINS_BEFORE_PAUSE = 2000;
/** Batches between two reads of the clock: a clock read costs about as much as staging a few records. */
const BATCHES_PER_CLOCK_READ = 16;

/**
 * Runs `stageBatch` for `ns` nanoseconds: each call stages up to BATCH records numbered from `seq` and returns how
 * many fit; a batch that staged any is published, and a ring that stays full is paused on now and then. Returns the
 * records staged.
 */
function pumpBatches(ring: Ring, seq0: number, ns: number, stageBatch: (seq: number) => number): number {
  let seq = seq0;
  let idle = 0;
  const end = nowNs() + ns;
  do {
    for (let b = 0; b < BATCHES_PER_CLOCK_READ; b++) {
      const n = stageBatch(seq);
      if (n > 0) {
        seq += n;
        ring.publish();
        idle = 0;
      } else if (++idle % SPINS_BEFORE_PAUSE === 0) {
        pause(); // full: the peer frees space by advancing head
      }
    }
  } while (nowNs() < end);
  return seq - seq0;
}

/** stage() per record of `bytes` (the first 4 bytes carry the sequence number), one publish() per BATCH. */
function pumpStage(ring: Ring, bytes: number, seq0: number, ns: number): number {
  const payload = new Uint8Array(bytes);
  const seqView = new Uint32Array(payload.buffer, 0, 1);
  return pumpBatches(ring, seq0, ns, (seq) => {
    let k = 0;
    for (; k < BATCH; k++) {
      seqView[0] = seq + k;
      if (!ring.stage(RECORD_TYPE, payload)) break;
    }
    return k;
  });
}

/**
 * One batch call per BATCH records of `bytes`. Each record's first 4 bytes are its sequence number, written into the
 * source before the call (records that did not fit are rewritten with the same numbers in the next batch).
 */
function pumpBatched(ring: Ring, api: 'stageMany' | 'stageFrames', bytes: number, seq0: number, ns: number): number {
  const framed = api === 'stageFrames';
  const stride = framed ? ringLayout.recordSize(bytes) : bytes;
  const seqAt = framed ? ringLayout.RECORD_HEADER_SIZE : 0;
  const source = new Uint8Array(BATCH * stride);
  const words = new Int32Array(source.buffer);
  const strideWords = stride / Int32Array.BYTES_PER_ELEMENT;
  const seqWord = seqAt / Int32Array.BYTES_PER_ELEMENT;
  return pumpBatches(ring, seq0, ns, (seq) => {
    for (let k = 0; k < BATCH; k++) words[k * strideWords + seqWord] = seq + k;
    return framed ? ring.stageFrames(RECORD_TYPE, source, bytes, BATCH) : ring.stageMany(RECORD_TYPE, source, bytes, BATCH);
  });
}

/** claim(bytes) + one TypedArray.set from a source buffer + commit() per record. */
function pumpClaim(ring: Ring, bytes: number, ns: number): number {
  const source = new Uint8Array(bytes).map((_, i) => i * 7);
  let n = 0;
  let idle = 0;
  const end = nowNs() + ns;
  do {
    const view = ring.claim(bytes);
    if (view) {
      view.set(source);
      ring.commit(RECORD_TYPE);
      n++;
      idle = 0;
    } else if (++idle % SPINS_BEFORE_PAUSE === 0) {
      pause();
    }
  } while (nowNs() < end);
  return n;
}

type OneWayApi = SmallApi | 'claim';

const API_ID: Record<OneWayApi, string> = { stage: 'stage', stageMany: 'stage-many', stageFrames: 'stage-frames', claim: 'claim' };
const API_NOTE: Record<OneWayApi, string> = {
  stage: `stage() per record, publish() per ${BATCH}`,
  stageMany: `one stageMany() per ${BATCH} packed records`,
  stageFrames: `one stageFrames() per ${BATCH} pre-framed records`,
  claim: 'claim() + TypedArray.set + commit() per record',
};

function oneWayId(kind: PeerKind, api: OneWayApi, bytes: number): string {
  return `${SUITE}.js-native-${kind}.one-way.${API_ID[api]}.${sizeTag(bytes)}`;
}

function oneWayTitle(kind: PeerKind, api: OneWayApi, bytes: number): string {
  return `JS → native ${kind}, ${sizeLabel(bytes)} one way, ${API_ID[api]}`;
}

/** One run of a one-way scenario JS → native peer. */
async function oneWay(ctx: BenchContext, kind: PeerKind, api: OneWayApi, bytes: number): Promise<BenchResult> {
  const capacity = capacityFor(bytes);
  const { region, rings, segments } = makeRings([capacity], { park: false });
  const ring = rings[0]!;
  let peer: Peer | undefined;
  try {
    peer = startPeer(kind, region, { mode: 'sink', input: segments[0]!, batch: SINK_READ_BATCH, waitPolicy: { mode: 'spin' } });
    const d = durations(ctx);
    const pump = (seq0: number, ns: number): number =>
      api === 'stage' ? pumpStage(ring, bytes, seq0, ns) : api === 'claim' ? pumpClaim(ring, bytes, ns) : pumpBatched(ring, api, bytes, seq0, ns);
    const warm = pump(0, d.warmupNs);
    const c0 = readCpu(peer.sides);
    const t0 = nowNs();
    const measured = pump(warm, d.measureNs);
    const elapsed = nowNs() - t0;
    const c1 = readCpu(peer.sides);
    ring.closeProducer();
    const result = await peer.finish();
    if (result.records !== warm + measured) throw new Error(`The ${kind} sink counted ${result.records} records but JS wrote ${warm + measured}.`);
    const rate = perSecond(measured, elapsed);
    return {
      suite: SUITE,
      id: oneWayId(kind, api, bytes),
      scenario: oneWayTitle(kind, api, bytes),
      transport: `native-sidecar ring, JS → native ${kind}`,
      kind: 'ours',
      pattern: 'one-way',
      message_bytes: bytes,
      msgs_per_s: rate,
      gbytes_per_s: (rate * bytes) / 1e9,
      cpu_ns_per_msg: cpuPerMessage(c0, c1, measured),
      runs: 1,
      note: `${API_NOTE[api]}; capacity ${capacity} B`,
    };
  } finally {
    await peer?.dispose();
    region.close();
  }
}

/**
 * Starts the JS ring peer (bench/lib/sab-peer.ts) and resolves once it is attached and polling, with its result to
 * come (resolves with its count, rejects when it reports an error, errors or exits before reporting).
 */
async function startSabPeer(workerData: unknown): Promise<{ worker: Worker; result: Promise<number> }> {
  const worker = new Worker(new URL('./lib/sab-peer.js', import.meta.url), { workerData });
  let ready!: () => void;
  let fail!: (e: Error) => void;
  const readyP = new Promise<void>((res, rej) => {
    ready = res;
    fail = rej;
  });
  const result = new Promise<number>((resolve, reject) => {
    worker.on('message', (m: { ready?: boolean; records?: number; error?: string }) => {
      if (m.ready === true) return ready();
      if (m.error !== undefined || m.records === undefined) reject(new Error(`The JS ring peer failed: ${m.error ?? 'no result'}.`));
      else resolve(m.records);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`The JS ring peer exited (code ${code}) before it reported.`)));
  });
  result.catch((e: Error) => fail(e));
  try {
    await readyP;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return { worker, result };
}

function sabRing(capacity: number): { sab: SharedArrayBuffer; ring: Ring } {
  const sab = new SharedArrayBuffer(Ring.segmentSize(capacity));
  return { sab, ring: Ring.create(sab, { capacity, waitPolicy: { mode: 'spin' } }) };
}

/** Writes the END_TYPE record (retrying while the ring is full, bounded). */
function endStream(ring: Ring): void {
  const deadline = nowNs() + REPLY_TIMEOUT_MS * 1e6;
  while (!ring.tryWrite(END_TYPE, new Uint8Array(0))) {
    if (nowNs() > deadline) throw new Error('The JS ring peer stopped reading: the end record found no room.');
    pause();
  }
}

/** The worker's CPU time: process total minus the main thread (an upper bound, as for native threads). */
const workerSides = inProcessSides;

/** One run of JS → JS (worker_thread) over a SharedArrayBuffer, 32 B one way, stage() per record. */
async function jsJsOneWay(ctx: BenchContext): Promise<BenchResult> {
  const { sab, ring } = sabRing(MIN_CAPACITY);
  const { worker, result } = await startSabPeer({ mode: 'sink', input: sab });
  try {
    const d = durations(ctx);
    const warm = pumpStage(ring, SMALL_BYTES, 0, d.warmupNs);
    const sides = workerSides();
    const c0 = readCpu(sides);
    const t0 = nowNs();
    const measured = pumpStage(ring, SMALL_BYTES, warm, d.measureNs);
    const elapsed = nowNs() - t0;
    const c1 = readCpu(sides);
    endStream(ring);
    const records = await result;
    if (records !== warm + measured) throw new Error(`The JS ring peer counted ${records} records but the main thread wrote ${warm + measured}.`);
    const rate = perSecond(measured, elapsed);
    return {
      suite: SUITE,
      id: `${SUITE}.js-js-sab.one-way.stage.32`,
      scenario: 'JS → JS worker_thread over a SharedArrayBuffer, 32 B one way, stage',
      transport: 'native-sidecar ring, JS ↔ JS (SharedArrayBuffer)',
      kind: 'ours',
      pattern: 'one-way',
      message_bytes: SMALL_BYTES,
      msgs_per_s: rate,
      gbytes_per_s: (rate * SMALL_BYTES) / 1e9,
      cpu_ns_per_msg: cpuPerMessage(c0, c1, measured),
      runs: 1,
      note: `${API_NOTE.stage}; the worker drains 4096 at a time, spinning`,
    };
  } finally {
    await worker.terminate();
  }
}

/** One run of the JS ↔ JS round trip over two SAB rings: the main thread spins on peek(), the worker echoes. */
async function jsJsRoundTrip(ctx: BenchContext): Promise<BenchResult> {
  const a = sabRing(RTT_CAPACITY);
  const b = sabRing(RTT_CAPACITY);
  const { worker, result } = await startSabPeer({ mode: 'echo', input: a.sab, output: b.sab });
  try {
    const payload = new Uint8Array(SMALL_BYTES);
    const d = durations(ctx);
    const sides = workerSides();
    let trips = 0;
    const once = (): void => {
      sendRequest(a.ring, payload);
      spinForReply(b.ring);
      b.ring.release();
      trips++;
    };
    // CPU is read around the whole call, warm-up included, and divided by every trip made.
    const c0 = readCpu(sides);
    const s = measureRoundTripsSync(once, d);
    const c1 = readCpu(sides);
    endStream(a.ring);
    await result;
    return {
      suite: SUITE,
      id: `${SUITE}.js-js-sab.round-trip.spin.32`,
      scenario: 'JS ↔ JS worker_thread over SharedArrayBuffers, 32 B round trip, spin',
      transport: 'native-sidecar ring, JS ↔ JS (SharedArrayBuffer)',
      kind: 'ours',
      pattern: 'round-trip',
      message_bytes: SMALL_BYTES,
      latency_ns: s,
      msgs_per_s: perSecond(s.count, d.measureNs),
      cpu_ns_per_msg: cpuPerMessage(c0, c1, trips),
      runs: 1,
      note: 'both sides spin; CPU per round trip (warm-up included)',
    };
  } finally {
    await worker.terminate();
  }
}

/** Sends one 32 B request of a round trip: every earlier one was answered, so a full ring is a bug. */
function sendRequest(toPeer: Ring, payload: Uint8Array): void {
  if (!toPeer.tryWrite(RECORD_TYPE, payload)) throw new Error('The request ring is full although every request was answered.');
}

/** Spins (bounded, pausing now and then) until the reply ring has a record. */
function spinForReply(fromPeer: Ring): void {
  let spins = 0;
  let deadline = 0;
  while (fromPeer.peek() === null) {
    if (++spins % SPINS_BEFORE_PAUSE === 0) {
      const t = nowNs();
      if (deadline === 0) deadline = t + REPLY_TIMEOUT_MS * 1e6;
      else if (t > deadline) throw new Error(`The echo peer did not answer within ${REPLY_TIMEOUT_MS} ms.`);
      pause();
    }
  }
}

/** One round trip that awaits the reply with readable() (parking as `fromPeer`'s policy and parker say). */
async function awaitedRoundTrip(toPeer: Ring, fromPeer: Ring, payload: Uint8Array): Promise<void> {
  sendRequest(toPeer, payload);
  while (fromPeer.peek() === null) {
    if (!(await fromPeer.readable({ timeout: REPLY_TIMEOUT_MS }))) throw new Error('The echo peer closed its ring.');
  }
  fromPeer.release();
}

type RttVariant = 'spin' | 'park-default' | 'park-eventfd';

const RTT_NOTE: Record<RttVariant, string> = {
  spin: 'JS spins on peek(); the peer spins',
  'park-default': 'JS awaits readable() with policy park and the default parker (NativeParker: io_uring FUTEX_WAIT watched by the event loop, where the kernel allows it); the peer parks on its futex',
  'park-eventfd': 'JS awaits readable() through an EventfdParker (the event loop watches an eventfd the peer writes); the peer parks on its futex',
};

function rttId(v: RttVariant): string {
  return `${SUITE}.js-native-process.round-trip.${v}.32`;
}

function rttTitle(v: RttVariant): string {
  return `JS ↔ native process, 32 B round trip, ${v}`;
}

/** One run of a round trip JS ↔ native process (echo peer), 32 B. */
async function roundTrip(ctx: BenchContext, v: RttVariant): Promise<BenchResult> {
  const eventfd = v === 'park-eventfd' ? new EventfdParker() : undefined;
  const park = v !== 'spin';
  const { region, rings, segments } = makeRings([RTT_CAPACITY, RTT_CAPACITY], { park, ...(eventfd ? { parker: eventfd } : {}) });
  const [toPeer, fromPeer] = [rings[0]!, rings[1]!];
  let peer: Peer | undefined;
  try {
    // batch 1: the echo publishes each reply at once instead of on its next empty read.
    peer = startPeer('process', region, {
      mode: 'echo',
      input: segments[0]!,
      output: segments[1]!,
      batch: 1,
      waitPolicy: { mode: park ? 'park' : 'spin' },
      ...(eventfd ? { wakeFd: eventfd.fd } : {}),
    });
    const payload = new Uint8Array(SMALL_BYTES);
    const d = durations(ctx);
    let trips = 0;
    const c0 = readCpu(peer.sides);
    const s = park
      ? await measureRoundTrips(async () => {
          await awaitedRoundTrip(toPeer, fromPeer, payload);
          trips++;
        }, d)
      : measureRoundTripsSync(() => {
          sendRequest(toPeer, payload);
          spinForReply(fromPeer);
          fromPeer.release();
          trips++;
        }, d);
    const c1 = readCpu(peer.sides);
    toPeer.closeProducer();
    await peer.finish();
    // js is the main thread only: a waiter thread of the default parker (its fallback without io_uring) is not counted on either side.
    const cpu: CpuPerMessage = cpuPerMessage(c0, c1, trips);
    return {
      suite: SUITE,
      id: rttId(v),
      scenario: rttTitle(v),
      transport: 'native-sidecar ring, JS ↔ native process',
      kind: 'ours',
      pattern: 'round-trip',
      message_bytes: SMALL_BYTES,
      latency_ns: s,
      msgs_per_s: perSecond(s.count, d.measureNs),
      cpu_ns_per_msg: cpu,
      runs: 1,
      note: `${RTT_NOTE[v]}; CPU per round trip (warm-up included)`,
    };
  } finally {
    await peer?.dispose();
    region.close();
    eventfd?.close();
  }
}

function cScenario(ctx: BenchContext, scenario: CScenario, bytes: number, runMs: number): Scenario {
  return {
    id: cId(SUITE, scenario, bytes),
    title: cTitle(scenario, bytes),
    runMs,
    run: async () => cResult(SUITE, cLine(await runC(ctx, [scenario], [bytes]), scenario, bytes)),
  };
}

function scenarios(ctx: BenchContext): Scenario[] {
  const w = ctx.durationMs + Math.min(250, Math.max(10, ctx.durationMs / 4));
  const list: Scenario[] = [];
  const oneWayScenario = (kind: PeerKind, api: OneWayApi, bytes: number): Scenario => ({
    id: oneWayId(kind, api, bytes),
    title: oneWayTitle(kind, api, bytes),
    runMs: w + (kind === 'process' ? 40 : 15),
    run: () => oneWay(ctx, kind, api, bytes),
  });
  // The per-record target's two sides back to back: the C limit, then stage() per record.
  list.push(cScenario(ctx, 'c_ring_limit', SMALL_BYTES, 4 * w + 20));
  for (const kind of ['thread', 'process'] as const) {
    for (const api of ['stage', 'stageMany', 'stageFrames'] as const) list.push(oneWayScenario(kind, api, SMALL_BYTES));
  }
  for (const bytes of ctx.sizes) {
    if (bytes === SMALL_BYTES) continue;
    // The batch APIs are for small records (a batch of BATCH must fit the ring to be one call): up to 1 KiB.
    const apis = bytes <= 1024 ? (['stage', 'stageMany', 'stageFrames'] as const) : (['stage'] as const);
    for (const kind of ['thread', 'process'] as const) for (const api of apis) list.push(oneWayScenario(kind, api, bytes));
    if (bytes >= 64 * 1024) list.push(oneWayScenario('thread', 'claim', bytes));
  }
  list.push({ id: `${SUITE}.js-js-sab.one-way.stage.32`, title: 'JS → JS worker over a SharedArrayBuffer, 32 B one way', runMs: w + 40, run: () => jsJsOneWay(ctx) });
  list.push({ id: `${SUITE}.js-js-sab.round-trip.spin.32`, title: 'JS ↔ JS worker over SharedArrayBuffers, 32 B round trip', runMs: w + 40, run: () => jsJsRoundTrip(ctx) });
  list.push(cScenario(ctx, 'c_spin_pingpong', 4, w + 10));
  list.push({ id: rttId('spin'), title: rttTitle('spin'), runMs: w + 40, run: () => roundTrip(ctx, 'spin') });
  // The parker target's two sides back to back: C futex ping-pong, then the parked round trips.
  list.push(cScenario(ctx, 'c_futex_pingpong', 4, w + 10));
  list.push({ id: rttId('park-default'), title: rttTitle('park-default'), runMs: w + 40, run: () => roundTrip(ctx, 'park-default') });
  list.push({ id: rttId('park-eventfd'), title: rttTitle('park-eventfd'), runMs: w + 40, run: () => roundTrip(ctx, 'park-eventfd') });
  return list;
}

/** The targets of issues 2 and 11 that this suite's figures decide, as ratios of this run. */
function targetChecks(ctx: BenchContext, results: BenchResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const get = (id: string): BenchResult | undefined => byId(results, id);
  const limit = get(cId(SUITE, 'c_ring_limit', SMALL_BYTES))?.msgs_per_s;
  const futex = get(cId(SUITE, 'c_futex_pingpong', 4))?.latency_ns?.p50;
  const spinC = get(cId(SUITE, 'c_spin_pingpong', 4))?.latency_ns?.p50;
  if (limit !== undefined) {
    for (const kind of ['thread', 'process'] as const) {
      const stage = get(oneWayId(kind, 'stage', SMALL_BYTES))?.msgs_per_s;
      if (stage !== undefined) checks.push(check(`per-record stage() 32 B one way JS → native ${kind} ≥ 0.5 × the C ring limit (ratio)`, stage / limit, '>=', 0.5, 11));
      const frames = get(oneWayId(kind, 'stageFrames', SMALL_BYTES))?.msgs_per_s;
      if (frames !== undefined) {
        const c = check(`the C ring limit 32 B ≥ JS stageFrames 32 B one way to the native ${kind} (ratio; a limit must be the fastest)`, limit / frames, '>=', 1, 11);
        if (!c.met) ctx.log(`WARNING: the C ring limit (${(limit / 1e6).toFixed(1)} M/s) is below JS stageFrames to the native ${kind} (${(frames / 1e6).toFixed(1)} M/s): it is not a limit in this run.`);
        checks.push(c);
      }
    }
  }
  if (futex !== undefined) {
    const parked = get(rttId('park-default'))?.latency_ns?.p50;
    if (parked !== undefined) checks.push(check('default-parker parked round trip p50 ≤ 1.2 × C futex ping-pong p50 (ratio)', parked / futex, '<=', 1.2, 11));
    const eventfd = get(rttId('park-eventfd'))?.latency_ns?.p50;
    if (eventfd !== undefined) checks.push(check('EventfdParker parked round trip p50 ≤ 1.2 × C futex ping-pong p50 (ratio)', eventfd / futex, '<=', 1.2, 11));
  }
  if (spinC !== undefined) {
    const spin = get(rttId('spin'))?.latency_ns?.p50;
    if (spin !== undefined) checks.push(check('spin round trip p50 ≤ 1.25 × C spin ping-pong p50 (ratio)', spin / spinC, '<=', 1.25, 2));
  }
  return checks;
}

export function plan(ctx: BenchContext): ScenarioPlan[] {
  return planOf(ctx, scenarios(ctx));
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const results = await runScenarios(ctx, scenarios(ctx));
  return { results, checks: targetChecks(ctx, results) };
}
