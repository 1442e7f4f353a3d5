/**
 * Measurement helpers of the `alternatives` and `paced` suites (bench/alternatives.ts, bench/paced.ts): the clock, a
 * latency histogram with p99.9 (hdr-histogram-js), the measurement loops every transport shares (round trip one at a
 * time, pipelined, one way), and the aggregation of independent runs (median and spread).
 *
 * Everything here runs on the main JavaScript thread, one measurement at a time. A loop that fails (its transport
 * throws or rejects) rejects with that error; nothing here swallows one.
 */
import * as hdr from 'hdr-histogram-js';

import type { BenchContext, BenchResult, CpuPerMessage, LatencyNs } from '../lib/contract.js';
import { cpuPerMessage, readCpu, type CpuSides } from '../lib/cpu.js';

export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The CPU sides of bench/lib/cpu.ts under the names the alternatives' files use. */
export { childProcessSides as childSides, inProcessSides as inProcSides } from '../lib/cpu.js';

/** A histogram of nanosecond values with 3 significant digits, up to 60 s. Record and read on one thread. */
export class Histogram {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });

  /** Records one value in ns (below 1 ns as 1: a log-scale histogram cannot hold 0; above 60 s as 60 s). */
  record(ns: number): void {
    this.h.recordValue(clamp(ns));
  }

  /**
   * Records `ns` and, when it exceeds `expectedIntervalNs`, the values a sender that waited for each reply failed to
   * send meanwhile (hdr-histogram's coordinated-omission correction for closed loops).
   */
  recordCorrected(ns: number, expectedIntervalNs: number): void {
    this.h.recordValueWithExpectedInterval(clamp(ns), Math.max(1, Math.round(expectedIntervalNs)));
  }

  get count(): number {
    return this.h.totalCount;
  }

  /**
   * p50, p99, p99.9 and max. A percentile is its bucket's highest equivalent value (within 0.1 %), which can exceed
   * the exact maximum; it is capped at the maximum so that p50 ≤ p99 ≤ p99.9 ≤ max always holds.
   */
  summary(): LatencyNs {
    const max = this.h.maxValue;
    const at = (q: number): number => Math.min(this.h.getValueAtPercentile(q), max);
    return { p50: at(50), p99: at(99), p999: at(99.9), max, count: this.h.totalCount };
  }
}

function clamp(ns: number): number {
  return ns < 1 ? 1 : ns > 60e9 ? 60e9 : Math.round(ns);
}

/** The warm-up before each measurement window: a fifth of it, between 20 and 200 ms. */
export function warmupMs(ctx: BenchContext): number {
  return Math.min(200, Math.max(20, ctx.durationMs / 5));
}

/** Reads both sides now; `perMessage(n)` later gives the CPU time per message since then. */
export function cpuSince(sides: CpuSides): { perMessage(messages: number): CpuPerMessage } {
  const before = readCpu(sides);
  return { perMessage: (messages) => cpuPerMessage(before, readCpu(sides), messages) };
}

/** What one run of a scenario measured. `primary` is the figure the spread is computed on. */
export interface RunFigures {
  primary: number;
  msgs_per_s?: number;
  gbytes_per_s?: number;
  latency_ns?: LatencyNs;
  ns_per_call?: number;
  cpu_ns_per_msg?: CpuPerMessage;
  note?: string;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Runs `once` ctx.runs times and returns the figures of the median run (the run whose primary figure is the
 * median: its percentiles, rates and CPU stay consistent with each other) and the spread (max − min) / median of
 * the primary figure over all runs.
 */
export async function repeat(ctx: BenchContext, once: () => Promise<RunFigures>): Promise<{ figures: RunFigures; runs: number; spread: number }> {
  const all: RunFigures[] = [];
  for (let r = 0; r < ctx.runs; r++) all.push(await once());
  return summarize(all);
}

/**
 * What repeat() reports for runs measured elsewhere (e.g. interleaved with another scenario's runs): the figures of
 * the median run by primary figure and the spread (max − min) / median. `all` must not be empty.
 */
export function summarize(all: readonly RunFigures[]): { figures: RunFigures; runs: number; spread: number } {
  const primaries = all.map((f) => f.primary);
  const med = median(primaries);
  const sorted = [...all].sort((a, b) => a.primary - b.primary);
  const figures = sorted[Math.floor((sorted.length - 1) / 2)] as RunFigures;
  const spread = med > 0 ? (Math.max(...primaries) - Math.min(...primaries)) / med : 0;
  return { figures, runs: all.length, spread: Math.round(spread * 1000) / 1000 };
}

/** Builds a BenchResult from a repeat() outcome (message bytes and GB/s filled in from the rate). */
export function result(
  base: Omit<BenchResult, 'runs' | 'spread'>,
  r: { figures: RunFigures; runs: number; spread: number },
): BenchResult {
  const f = r.figures;
  const out: BenchResult = { ...base, runs: r.runs, spread: r.spread };
  if (f.msgs_per_s !== undefined) {
    out.msgs_per_s = Math.round(f.msgs_per_s);
    if (base.message_bytes !== undefined) out.gbytes_per_s = Math.round(((f.msgs_per_s * base.message_bytes) / 1e9) * 10000) / 10000;
  }
  if (f.gbytes_per_s !== undefined) out.gbytes_per_s = f.gbytes_per_s;
  if (f.latency_ns !== undefined) out.latency_ns = f.latency_ns;
  if (f.ns_per_call !== undefined) out.ns_per_call = Math.round(f.ns_per_call * 10) / 10;
  if (f.cpu_ns_per_msg !== undefined) out.cpu_ns_per_msg = f.cpu_ns_per_msg;
  const notes = [base.note, f.note].filter((n) => n !== undefined && n !== '');
  if (notes.length > 0) out.note = notes.join(' ');
  return out;
}

/**
 * Round trip, one at a time: `exchange()` sends one message and resolves when its whole reply is back. Warm-up, then
 * ctx.durationMs of exchanges, each timed; primary figure p50 (ns). CPU per exchange on both sides.
 */
export async function roundTrip(ctx: BenchContext, exchange: () => Promise<void>, sides: CpuSides): Promise<RunFigures> {
  const warmEnd = nowNs() + warmupMs(ctx) * 1e6;
  while (nowNs() < warmEnd) await exchange();
  const h = new Histogram();
  const before = readCpu(sides);
  const start = nowNs();
  const end = start + ctx.durationMs * 1e6;
  let t = start;
  let n = 0;
  while (t < end) {
    await exchange();
    const t2 = nowNs();
    h.record(t2 - t);
    t = t2;
    n++;
  }
  const elapsed = t - start;
  const latency = h.summary();
  return { primary: latency.p50, latency_ns: latency, msgs_per_s: (n * 1e9) / elapsed, cpu_ns_per_msg: cpuPerMessage(before, readCpu(sides), n) };
}

/**
 * Pipelined: `depth` exchanges kept in flight (each completion starts the next) for ctx.durationMs after a warm-up;
 * primary figure exchanges per second. The latency is from each exchange's start to its completion (so it includes
 * the queueing behind the other `depth − 1`).
 */
export async function pipelined(ctx: BenchContext, exchange: () => Promise<unknown>, depth: number, sides: CpuSides): Promise<RunFigures> {
  const phase = async (ms: number, h: Histogram | undefined): Promise<[number, number]> => {
    let completed = 0;
    const start = nowNs();
    const end = start + ms * 1e6;
    const lane = async (): Promise<void> => {
      for (let t = nowNs(); t < end; ) {
        await exchange();
        const t2 = nowNs();
        h?.record(t2 - t);
        t = t2;
        completed++;
      }
    };
    await Promise.all(Array.from({ length: depth }, lane));
    return [completed, nowNs() - start];
  };
  await phase(warmupMs(ctx), undefined);
  const h = new Histogram();
  const before = readCpu(sides);
  const [n, elapsed] = await phase(ctx.durationMs, h);
  const rate = (n * 1e9) / elapsed;
  return { primary: rate, msgs_per_s: rate, latency_ns: h.summary(), cpu_ns_per_msg: cpuPerMessage(before, readCpu(sides), n), note: `${depth} in flight.` };
}

/** What a one-way phase returns: messages the receiver got within the window and the window's length. */
export interface OneWayPhase {
  received: number;
  elapsedNs: number;
}

/**
 * One way: `phase(ns)` sends for `ns` and reports what the receiver counted. Warm-up phase, then one measured phase;
 * primary figure messages per second received. No latency (nothing comes back per message).
 */
export async function oneWay(ctx: BenchContext, phase: (ns: number) => Promise<OneWayPhase>, sides: CpuSides): Promise<RunFigures> {
  await phase(warmupMs(ctx) * 1e6);
  const before = readCpu(sides);
  const { received, elapsedNs } = await phase(ctx.durationMs * 1e6);
  const rate = (received * 1e9) / elapsedNs;
  return { primary: rate, msgs_per_s: rate, cpu_ns_per_msg: cpuPerMessage(before, readCpu(sides), received) };
}

/**
 * A synchronous call loop: `call()` is one call; calls are timed in batches of ≥ ~2 µs (a clock read costs tens of
 * ns, more than a small call) and each call of a batch is recorded as the batch's mean. Primary figure ns per call.
 */
export async function calls(ctx: BenchContext, call: () => void, sides: CpuSides): Promise<RunFigures> {
  const warmEnd = nowNs() + warmupMs(ctx) * 1e6;
  let batch = 1;
  let probe = 0;
  while (nowNs() < warmEnd) {
    const t = nowNs();
    for (let i = 0; i < batch; i++) call();
    const per = (nowNs() - t) / batch;
    if (++probe % 64 === 0) await tick();
    batch = Math.max(1, Math.min(4096, Math.round(2000 / Math.max(per, 1))));
  }
  const h = new Histogram();
  const before = readCpu(sides);
  const start = nowNs();
  const end = start + ctx.durationMs * 1e6;
  let n = 0;
  let t = start;
  let k = 0;
  while (t < end) {
    for (let i = 0; i < batch; i++) call();
    const t2 = nowNs();
    const per = (t2 - t) / batch;
    for (let i = 0; i < batch; i++) h.record(per);
    n += batch;
    t = t2;
    if (++k % 256 === 0) await tick(); // lets the event loop breathe (timers, the runner's progress)
  }
  const ns = (t - start) / n;
  return {
    primary: ns,
    ns_per_call: ns,
    msgs_per_s: 1e9 / ns,
    latency_ns: h.summary(),
    cpu_ns_per_msg: cpuPerMessage(before, readCpu(sides), n),
    note: `Calls timed in batches of ${batch} (each recorded as the batch mean).`,
  };
}

/** Messages a sender may have unacknowledged in a one-way scenario: 32 MiB worth, between 4 and 16384. */
export function windowFor(bytes: number): number {
  return Math.max(4, Math.min(16384, Math.floor((32 << 20) / bytes)));
}

/** Requests kept in flight by a pipelined scenario: 8 MiB worth, between 4 and 1024. */
export function depthFor(bytes: number): number {
  return Math.max(4, Math.min(1024, Math.floor((8 << 20) / bytes)));
}

/** A payload of `bytes` bytes with a recognisable pattern. */
export function payload(bytes: number): Uint8Array {
  const p = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) p[i] = (i * 31 + 7) & 0xff;
  return p;
}
