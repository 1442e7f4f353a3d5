/** Latency percentiles with hdr-histogram-js (3 significant digits, values in nanoseconds). */
import * as hdr from 'hdr-histogram-js';

import type { LatencyNs } from './contract.js';

/** p50, p99, p99.9, max and count of a set of nanosecond values (the contract's LatencyNs). */
export type LatencySummary = LatencyNs;

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

  /** The percentiles; all 0 (count 0) when nothing was recorded. */
  summary(): LatencySummary {
    return {
      p50: this.h.getValueAtPercentile(50),
      p99: this.h.getValueAtPercentile(99),
      p999: this.h.getValueAtPercentile(99.9),
      max: this.h.maxValue,
      count: this.h.totalCount,
    };
  }
}
