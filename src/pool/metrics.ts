/**
 * The pool's metrics (the set piscina reports): counters, utilization and latency histograms (hdr-histogram-js, 3
 * significant digits, recorded in microseconds from 1 µs to 1 hour, reported in milliseconds). Memory: each histogram
 * is a fixed packed array of a few KiB; the pool holds two, and one per member slot.
 *
 * Threading: the JavaScript thread of the pool.
 */
import type * as Hdr from 'hdr-histogram-js';
import { SidecarError } from '../errors.js';

/** Latency percentiles in milliseconds; all 0 when nothing was recorded. */
export interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  /** Values recorded. */
  count: number;
}

const HIGHEST_US = 3_600_000_000;

/**
 * hdr-histogram-js's WebAssembly build answers a percentile in well under a millisecond and records in tens of
 * nanoseconds; its pure-JavaScript build walks every bucket per percentile (about 3 to 15 ms for this range, measured
 * on the development machine) and records in about a microsecond — too slow for a metric on every request. The
 * WebAssembly module is loaded once per process by initMetrics(); where WebAssembly is unavailable (node --jitless)
 * the JavaScript build is used.
 */
let loading: Promise<boolean> | undefined;
let hdr: typeof Hdr | undefined;
let wasmReady = false;

/**
 * Loads hdr-histogram-js and its WebAssembly module (once per process; SidecarPool.start() awaits it before it builds
 * a histogram). Loaded on first use, so that importing the package for a Sidecar alone does not pay for it. Never
 * rejects: false when WebAssembly is unavailable (the JavaScript build is then used).
 */
export function initMetrics(): Promise<boolean> {
  loading ??= (async () => {
    hdr = await import('hdr-histogram-js');
    try {
      await hdr.initWebAssembly();
      wasmReady = true;
    } catch {
      wasmReady = false;
    }
    return wasmReady;
  })();
  return loading;
}

/** WebAssembly histograms live in the module's memory until destroy(): freed when their owner is collected. */
const reclaim = new FinalizationRegistry<Hdr.Histogram>((h) => h.destroy());

/** A histogram of durations, recorded in ms (as performance.now() differences), kept in µs. */
export class DurationHistogram {
  private readonly h: Hdr.Histogram;
  private sum = 0;

  /** Needs initMetrics() to have resolved. */
  constructor() {
    if (hdr === undefined) throw new SidecarError('ERR_INVALID_STATE', 'The pool metrics were used before initMetrics() resolved.');
    this.h = hdr.build({
      bitBucketSize: wasmReady ? 64 : 'packed',
      useWebAssembly: wasmReady,
      lowestDiscernibleValue: 1,
      highestTrackableValue: HIGHEST_US,
      numberOfSignificantValueDigits: 3,
    });
    if (wasmReady) reclaim.register(this, this.h, this);
  }

  /** Records `ms` milliseconds (clamped to 1 µs … 1 h: a histogram on a log scale holds neither 0 nor unbounded values). */
  record(ms: number): void {
    const us = Math.round(ms * 1000);
    const v = us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us;
    this.sum += v;
    this.h.recordValue(v);
  }

  summary(): Percentiles {
    const h = this.h;
    const count = h.totalCount;
    if (count === 0) return { p50: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 };
    // A percentile is reported as the highest value of its bucket (3 significant digits), the maximum exactly: a
    // percentile is never shown above the maximum.
    const max = h.maxValue;
    return {
      p50: Math.min(h.getValueAtPercentile(50), max) / 1000,
      p99: Math.min(h.getValueAtPercentile(99), max) / 1000,
      p999: Math.min(h.getValueAtPercentile(99.9), max) / 1000,
      max: max / 1000,
      mean: this.sum / count / 1000,
      count,
    };
  }

  /** Frees its memory now (WebAssembly); the histogram must not be used afterwards. */
  destroy(): void {
    reclaim.unregister(this);
    this.h.destroy();
  }
}

/**
 * Busy time of something that is busy while its count of work in flight is above zero: `busyMs()` is the total, the
 * current busy stretch included.
 */
export class BusyClock {
  private since = -1;
  private total = 0;

  /** The count of work in flight changed from `before` to `after` at `now` (performance.now()). */
  change(before: number, after: number, now: number): void {
    if (before === 0 && after > 0) this.since = now;
    else if (before > 0 && after === 0 && this.since >= 0) {
      this.total += now - this.since;
      this.since = -1;
    }
  }

  busyMs(now: number): number {
    return this.since >= 0 ? this.total + (now - this.since) : this.total;
  }
}
