/**
 * The pool's metrics (the set piscina reports): counters, utilization and latency histograms (hdr-histogram-js, 3
 * significant digits, recorded in microseconds from 1 µs to 1 hour, reported in milliseconds). Memory: each histogram
 * is a fixed packed array of a few KiB; the pool holds two, and one per member slot.
 *
 * Threading: the JavaScript thread of the pool.
 */
import * as hdr from 'hdr-histogram-js';

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

/** A histogram of durations, recorded in ms (as performance.now() differences), kept in µs. */
export class DurationHistogram {
  private readonly h = hdr.build({
    bitBucketSize: 'packed',
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  });

  /** Records `ms` milliseconds (clamped to 1 µs … 1 h: a histogram on a log scale holds neither 0 nor unbounded values). */
  record(ms: number): void {
    const us = Math.round(ms * 1000);
    this.h.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us);
  }

  summary(): Percentiles {
    const h = this.h;
    if (h.totalCount === 0) return { p50: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 };
    return {
      p50: h.getValueAtPercentile(50) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      p999: h.getValueAtPercentile(99.9) / 1000,
      max: h.maxValue / 1000,
      mean: h.mean / 1000,
      count: h.totalCount,
    };
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
