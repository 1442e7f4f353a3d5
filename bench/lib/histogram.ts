/** Latency percentiles with hdr-histogram-js (3 significant digits, values in nanoseconds). */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** A histogram of nanosecond values. Single-threaded: record and summarise on the same thread. */
export class LatencyHistogram {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });

  /** Records one value in ns; values below 1 ns are recorded as 1 (a histogram cannot hold 0 on a log scale). */
  record(ns: number | bigint): void {
    const v = typeof ns === 'bigint' ? Number(ns) : ns;
    this.h.recordValue(v < 1 ? 1 : Math.round(v));
  }

  get count(): number {
    return this.h.totalCount;
  }

  summary(): LatencySummary {
    return {
      count: this.h.totalCount,
      p50: this.h.getValueAtPercentile(50),
      p99: this.h.getValueAtPercentile(99),
      max: this.h.maxValue,
    };
  }
}
