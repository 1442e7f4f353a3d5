/**
 * The `sidecar` suite (issues 3 and 11): what a user of Sidecar meets — request/response and one-way send() through
 * the example echo plugin (examples/plugins/echo.c), in both modes, for each wait policy with the DEFAULT options
 * first (no waitPolicy given), next to a worker postMessage echo measured in the same run.
 *
 * Scenarios (ids `sidecar.<mode>.<pattern>.<policy>.<size>`; default options at every size of ctx.sizes, the
 * explicit wait policies at 32 B):
 * - round-trip: one request at a time, awaited (`await sidecar.request(payload)`); p50/p99/p99.9;
 * - pipelined: a fixed number of requests in flight (each reply triggers the next); replies per second;
 * - one-way: send() as fast as the ring takes them (awaiting one send in every window of them, which applies the
 *   backpressure send() documents); commands processed by the plugin per second (its processedCount).
 * - sidecar.postmessage-echo.round-trip.32: a worker_threads echo of a 32 B Uint8Array, awaited one at a time: the
 *   reference of the "p50 ≤ 0.2 × postMessage" target, kept here so the check never depends on another suite.
 * Messages larger than the default rings allow (1 MiB rings hold 512 KiB − 16 B) get rings of 4 × the message
 * (commandRingBytes and eventRingBytes; the note says so). CPU per message: thread mode counts the process minus the
 * main thread as the peer (the sidecar thread, the event pump's waiter and Node's helpers: an upper bound); process
 * mode counts the sidecar process.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

import { Sidecar, examplePluginPath, type SidecarMode, type SidecarOptions, type WaitMode } from '../src/index.js';
import { check, type BenchContext, type BenchResult, type Pattern, type ScenarioPlan, type SuiteResult, type TargetCheck } from './lib/contract.js';
import { cpuPerMessage, readCpu, type CpuSides } from './lib/cpu.js';
import { childProcessSides, inProcessSides } from './lib/cpu.js';
import { byId, planOf, pow2AtLeast, runScenarios, sizeLabel, sizeTag, type Scenario, type Session } from './lib/scenarios.js';
import { durations, measureRoundTrips, nowNs, perSecond, type Durations } from './lib/timing.js';

const SUITE = 'sidecar';
const SMALL = 32;
/** Bytes of commands a pipelined or one-way scenario keeps in flight at most (bounds the in-flight count at big sizes). */
const IN_FLIGHT_BYTES = 8 << 20;
const MAX_IN_FLIGHT = 1024;
/** Largest message the default 1 MiB rings carry: half the ring minus the record header (8) and message header (8). */
const DEFAULT_RING_MAX_MESSAGE = (1 << 20) / 2 - 16;

type Policy = 'default' | WaitMode;
const POLICIES: readonly Policy[] = ['default', 'spin', 'spin-then-park', 'park'];
type Kind = 'round-trip' | 'pipelined' | 'one-way';
const KINDS: readonly Kind[] = ['round-trip', 'pipelined', 'one-way'];

function inFlight(bytes: number): number {
  return Math.max(2, Math.min(MAX_IN_FLIGHT, Math.floor(IN_FLIGHT_BYTES / bytes)));
}

function ringBytesFor(bytes: number): number | undefined {
  return bytes <= DEFAULT_RING_MAX_MESSAGE ? undefined : pow2AtLeast(4 * (bytes + 64));
}

function options(mode: SidecarMode, policy: Policy, bytes: number): SidecarOptions {
  const o: SidecarOptions = { plugin: examplePluginPath('echo'), mode };
  if (policy !== 'default') o.waitPolicy = { mode: policy };
  const ring = ringBytesFor(bytes);
  if (ring !== undefined) {
    o.commandRingBytes = ring;
    o.eventRingBytes = ring;
  }
  return o;
}

function sidesOf(sidecar: Sidecar, mode: SidecarMode): CpuSides {
  return mode === 'thread' ? inProcessSides() : childProcessSides(sidecar.pid);
}

function id(mode: SidecarMode, kind: Kind, policy: Policy, bytes: number): string {
  return `${SUITE}.${mode}.${kind}.${policy}.${sizeTag(bytes)}`;
}

function title(mode: SidecarMode, kind: Kind, policy: Policy, bytes: number): string {
  const what = kind === 'round-trip' ? 'request round trip' : kind === 'pipelined' ? `pipelined requests (${inFlight(bytes)} in flight)` : 'send() one way';
  return `Sidecar ${mode} mode, ${policy === 'default' ? 'default options' : `waitPolicy ${policy}`}: ${what}, ${sizeLabel(bytes)}`;
}

/** Keeps `lanes` exchanges in flight for d.measureNs (after a warm-up); returns completed exchanges and elapsed ns. */
/** Exchanges a pipelined lane completes between two reads of the clock. */
const CLOCK_EVERY = 16;

async function pipelined(exchange: () => Promise<unknown>, lanes: number, d: Durations, onMeasureStart: () => void): Promise<[number, number]> {
  const phase = async (ns: number): Promise<[number, number]> => {
    let completed = 0;
    const start = nowNs();
    const end = start + ns;
    // The clock is read once per CLOCK_EVERY exchanges: hrtime.bigint() allocates a BigInt and costs about as much
    // as a tenth of a request, which would be the harness's cost, not the library's.
    const lane = async (): Promise<void> => {
      do {
        for (let i = 0; i < CLOCK_EVERY; i++) await exchange();
        completed += CLOCK_EVERY;
      } while (nowNs() < end);
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    return [completed, nowNs() - start];
  };
  await phase(d.warmupNs);
  onMeasureStart();
  return phase(d.measureNs);
}

/**
 * send() for `ns`: every `window`-th send is awaited (it resolves once the command is in the ring, so at most about
 * a window of commands waits in the backlog); the others are not, but a rejection of any is thrown here.
 */
async function sendFor(sidecar: Sidecar, payload: Uint8Array, window: number, ns: number): Promise<number> {
  let failure: unknown;
  const note = (e: unknown): void => {
    failure ??= e;
  };
  let sent = 0;
  const end = nowNs() + ns;
  while (nowNs() < end) {
    for (let i = 1; i < window; i++) sidecar.send(payload).catch(note);
    await sidecar.send(payload);
    sent += window;
    if (failure !== undefined) throw failure;
  }
  return sent;
}

/** Waits (bounded) until the plugin has processed `count` commands. */
async function drained(sidecar: Sidecar, count: number): Promise<void> {
  const deadline = nowNs() + 30e9;
  while (sidecar.processedCount < count) {
    if (nowNs() > deadline) throw new Error(`The sidecar processed ${sidecar.processedCount} of ${count} commands within 30 s.`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function sidecarScenario(ctx: BenchContext, mode: SidecarMode, kind: Kind, policy: Policy, bytes: number): Scenario {
  const w = ctx.durationMs + Math.min(250, Math.max(10, ctx.durationMs / 4));
  const pattern: Pattern = kind;
  return {
    id: id(mode, kind, policy, bytes),
    title: title(mode, kind, policy, bytes),
    runMs: w + 10,
    openMs: mode === 'process' ? 120 : 30,
    open: async (): Promise<Session> => {
      const opts = options(mode, policy, bytes);
      const sidecar = await Sidecar.start(opts);
      const payload = new Uint8Array(bytes).fill(0x5a);
      const sides = sidesOf(sidecar, mode);
      let sentTotal = 0;
      const note = [
        policy === 'default' ? 'default options' : `waitPolicy { mode: '${policy}' }`,
        opts.commandRingBytes !== undefined ? `rings of ${opts.commandRingBytes >> 20} MiB (the default 1 MiB rings carry at most ${DEFAULT_RING_MAX_MESSAGE} B)` : '',
      ].filter(Boolean);
      const base = (): BenchResult => ({
        suite: SUITE,
        id: id(mode, kind, policy, bytes),
        scenario: title(mode, kind, policy, bytes),
        transport: `Sidecar ${mode} mode`,
        kind: 'ours',
        pattern,
        message_bytes: bytes,
        runs: 1,
      });
      return {
        async once(): Promise<BenchResult> {
          const d = durations(ctx);
          const r = base();
          if (kind === 'round-trip') {
            let trips = 0;
            const c0 = readCpu(sides);
            const s = await measureRoundTrips(async () => {
              await sidecar.request(payload);
              trips++;
            }, d);
            const c1 = readCpu(sides);
            r.latency_ns = s;
            r.msgs_per_s = perSecond(s.count, d.measureNs);
            r.cpu_ns_per_msg = cpuPerMessage(c0, c1, trips);
            r.note = [...note, 'CPU per request (warm-up included)'].join('; ');
          } else if (kind === 'pipelined') {
            const lanes = inFlight(bytes);
            let c0 = readCpu(sides);
            const [completed, elapsed] = await pipelined(() => sidecar.request(payload), lanes, d, () => (c0 = readCpu(sides)));
            const c1 = readCpu(sides);
            r.msgs_per_s = perSecond(completed, elapsed);
            r.gbytes_per_s = (r.msgs_per_s * bytes) / 1e9;
            r.cpu_ns_per_msg = cpuPerMessage(c0, c1, completed);
            r.note = [...note, `${lanes} requests in flight`].join('; ');
          } else {
            const window = inFlight(bytes);
            sentTotal += await sendFor(sidecar, payload, window, d.warmupNs);
            const p0 = sidecar.processedCount;
            const c0 = readCpu(sides);
            const t0 = nowNs();
            sentTotal += await sendFor(sidecar, payload, window, d.measureNs);
            const p1 = sidecar.processedCount;
            const elapsed = nowNs() - t0;
            const c1 = readCpu(sides);
            await drained(sidecar, sentTotal);
            r.msgs_per_s = perSecond(p1 - p0, elapsed);
            r.gbytes_per_s = (r.msgs_per_s * bytes) / 1e9;
            r.cpu_ns_per_msg = cpuPerMessage(c0, c1, p1 - p0);
            r.note = [...note, `commands processed by the plugin per second; one send awaited per ${window}`].join('; ');
          }
          return r;
        },
        async close(): Promise<void> {
          await sidecar.stop();
        },
      };
    },
  };
}

const ECHO_WORKER = "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));";

function postMessageScenario(ctx: BenchContext): Scenario {
  const w = ctx.durationMs + Math.min(250, Math.max(10, ctx.durationMs / 4));
  return {
    id: `${SUITE}.postmessage-echo.round-trip.32`,
    title: 'worker postMessage echo, 32 B round trip (the reference of the request target)',
    runMs: w + 10,
    openMs: 40,
    open: async (): Promise<Session> => {
      const worker = new Worker(ECHO_WORKER, { eval: true });
      await once(worker, 'online');
      let waiting: (() => void) | null = null;
      worker.on('message', () => {
        const r = waiting;
        waiting = null;
        r?.();
      });
      const msg = new Uint8Array(SMALL);
      return {
        async once(): Promise<BenchResult> {
          const d = durations(ctx);
          let trips = 0;
          const sides = inProcessSides();
          const c0 = readCpu(sides);
          const s = await measureRoundTrips(
            () =>
              new Promise<void>((resolve) => {
                waiting = resolve;
                worker.postMessage(msg);
                trips++;
              }),
            d,
          );
          const c1 = readCpu(sides);
          return {
            suite: SUITE,
            id: `${SUITE}.postmessage-echo.round-trip.32`,
            scenario: 'worker postMessage echo, 32 B round trip',
            transport: 'worker postMessage',
            kind: 'alternative',
            pattern: 'round-trip',
            message_bytes: SMALL,
            latency_ns: s,
            msgs_per_s: perSecond(s.count, d.measureNs),
            cpu_ns_per_msg: cpuPerMessage(c0, c1, trips),
            runs: 1,
            note: 'a Uint8Array structured-cloned each way; awaited one at a time; CPU per round trip (warm-up included)',
          };
        },
        async close(): Promise<void> {
          await worker.terminate();
        },
      };
    },
  };
}

/**
 * The JavaScript side's floor of a pipelined request, with no ring and no native side at all: each "request" is a
 * promise that a pump resolves with a fresh 32-byte copy, in batches, from the event loop's check phase — the promise,
 * the copy, the caller's continuation and the batching a Sidecar's request cannot avoid. Same lanes and clock reads
 * as the Sidecar's pipelined scenario, so the ratio of the two is the Sidecar's own cost per request.
 */
function jsFloorScenario(ctx: BenchContext): Scenario {
  const w = ctx.durationMs + Math.min(250, Math.max(10, ctx.durationMs / 4));
  const scenarioId = `${SUITE}.js-floor.pipelined.32`;
  const scenarioTitle = 'JS floor of a pipelined request: a promise resolved with a 32 B copy (no ring, no native side)';
  return {
    id: scenarioId,
    title: scenarioTitle,
    runMs: w + 10,
    run: async (): Promise<BenchResult> => {
      const source = new Uint8Array(SMALL).fill(0x5a);
      let queue: ((reply: Uint8Array) => void)[] = [];
      let stopped = false;
      const pump = (): void => {
        const batch = queue;
        queue = [];
        for (const resolve of batch) resolve(source.slice());
        if (!stopped) setImmediate(pump);
      };
      setImmediate(pump);
      try {
        const lanes = inFlight(SMALL);
        const sides = inProcessSides();
        let c0 = readCpu(sides);
        const [completed, elapsed] = await pipelined(
          () => new Promise<Uint8Array>((resolve) => queue.push(resolve)),
          lanes,
          durations(ctx),
          () => (c0 = readCpu(sides)),
        );
        const c1 = readCpu(sides);
        const rate = perSecond(completed, elapsed);
        return {
          suite: SUITE,
          id: scenarioId,
          scenario: scenarioTitle,
          transport: 'JavaScript promises (limit)',
          kind: 'limit',
          pattern: 'pipelined',
          message_bytes: SMALL,
          msgs_per_s: rate,
          cpu_ns_per_msg: cpuPerMessage(c0, c1, completed),
          runs: 1,
          note: `${lanes} in flight; resolved in batches from setImmediate; the main thread's CPU per request is the floor of the Sidecar's`,
        };
      } finally {
        stopped = true;
      }
    },
  };
}

function scenarios(ctx: BenchContext): Scenario[] {
  const list: Scenario[] = [postMessageScenario(ctx), jsFloorScenario(ctx)];
  for (const mode of ['thread', 'process'] as const) {
    for (const policy of POLICIES) {
      for (const kind of KINDS) {
        const sizes = policy === 'default' ? ctx.sizes : [SMALL];
        for (const bytes of sizes) list.push(sidecarScenario(ctx, mode, kind, policy, bytes));
      }
    }
  }
  return list;
}

function targetChecks(results: BenchResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const pm = byId(results, `${SUITE}.postmessage-echo.round-trip.32`)?.latency_ns?.p50;
  for (const mode of ['thread', 'process'] as const) {
    const rtt = byId(results, id(mode, 'round-trip', 'default', SMALL))?.latency_ns;
    if (rtt !== undefined) {
      checks.push(check(`Sidecar ${mode} mode, default options, 32 B request awaited one at a time: p99 ≤ 3 × p50 (ratio)`, rtt.p99 / rtt.p50, '<=', 3, 11));
      if (pm !== undefined) checks.push(check(`Sidecar ${mode} mode, default options, 32 B request p50 ≤ 0.2 × worker postMessage echo p50 (ratio)`, rtt.p50 / pm, '<=', 0.2, 11));
    }
    const pipe = byId(results, id(mode, 'pipelined', 'default', SMALL))?.msgs_per_s;
    if (pipe !== undefined) checks.push(check(`Sidecar ${mode} mode, default options, 32 B pipelined requests ≥ 2,000,000 per second (requests/s)`, pipe, '>=', 2_000_000, 11));
  }
  const spin = byId(results, id('thread', 'round-trip', 'spin', SMALL))?.latency_ns?.p50;
  if (spin !== undefined) checks.push(check('Sidecar thread mode, waitPolicy spin, 32 B request round trip p50 ≤ 5 µs (ns)', spin, '<=', 5000, 3));
  return checks;
}

export function plan(ctx: BenchContext): ScenarioPlan[] {
  return planOf(ctx, scenarios(ctx));
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const results = await runScenarios(ctx, scenarios(ctx));
  return { results, checks: targetChecks(results) };
}
