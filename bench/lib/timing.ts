/** Clock helpers: process.hrtime.bigint() in nanoseconds, measurement windows with warm-up, round-trip loops. */
import type { BenchContext } from './contract.js';
import { LatencyHistogram, type LatencySummary } from './histogram.js';

/** Monotonic time in nanoseconds as a number (exact to 2^53 ns, i.e. ~104 days of uptime). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Seconds → nanoseconds. */
export function secondsNs(s: number): number {
  return Math.round(s * 1e9);
}

/** Durations of a scenario: warm-up (not measured) then measurement, shorter with --quick. */
export interface Durations {
  warmupNs: number;
  measureNs: number;
}

/**
 * The windows of one run of a scenario. Given the run's context: a measurement of ctx.durationMs after a warm-up of a
 * quarter of it (at least 10 ms, at most 250 ms). Given a boolean (the schema-1 `quick` flag, for modules not yet
 * ported): 0.05 s + 0.15 s when true, else warmupSeconds + measureSeconds.
 */
export function durations(ctxOrQuick: BenchContext | boolean, measureSeconds = 2, warmupSeconds = 0.5): Durations {
  if (typeof ctxOrQuick !== 'boolean') {
    const ms = ctxOrQuick.durationMs;
    return { warmupNs: secondsNs(Math.min(250, Math.max(10, ms / 4)) / 1e3), measureNs: secondsNs(ms / 1e3) };
  }
  return ctxOrQuick
    ? { warmupNs: secondsNs(0.05), measureNs: secondsNs(0.15) }
    : { warmupNs: secondsNs(warmupSeconds), measureNs: secondsNs(measureSeconds) };
}

/** Rate per second of `count` events over `elapsedNs` nanoseconds. */
export function perSecond(count: number, elapsedNs: number): number {
  return elapsedNs > 0 ? (count * 1e9) / elapsedNs : 0;
}

/**
 * Raw round-trip durations, kept in a flat array during the timed loop (one store per trip, no histogram arithmetic
 * on the measured path) and summarised with hdr-histogram-js afterwards.
 */
class Samples {
  private data = new Float64Array(1 << 16);
  private n = 0;

  push(ns: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ns;
  }

  summary(): LatencySummary {
    const h = new LatencyHistogram();
    for (let i = 0; i < this.n; i++) h.record(this.data[i]!);
    return h.summary();
  }
}

/**
 * Runs `once()` (one round trip, resolved when the reply is in) back to back: for `warmupNs` unrecorded, then for
 * `measureNs` recording each trip's duration. Returns the percentiles and the number of recorded trips.
 */
export async function measureRoundTrips(once: () => Promise<void>, d: Durations): Promise<LatencySummary> {
  const warmEnd = nowNs() + d.warmupNs;
  while (nowNs() < warmEnd) await once();
  const samples = new Samples();
  const end = nowNs() + d.measureNs;
  let t = nowNs();
  while (t < end) {
    const t0 = t;
    await once();
    t = nowNs();
    samples.push(t - t0);
  }
  return samples.summary();
}

/**
 * The synchronous twin of measureRoundTrips() for a round trip that spins on the JS thread. One clock read per trip
 * (the end of one trip is the start of the next), as the C baselines do.
 */
export function measureRoundTripsSync(once: () => void, d: Durations): LatencySummary {
  const warmEnd = nowNs() + d.warmupNs;
  while (nowNs() < warmEnd) once();
  const samples = new Samples();
  const end = nowNs() + d.measureNs;
  let t = nowNs();
  while (t < end) {
    const t0 = t;
    once();
    t = nowNs();
    samples.push(t - t0);
  }
  return samples.summary();
}
