/** A native thread of libns_showcase as seen from JS — the same wrapper for both bindings. */
import { statusError, SC_OK } from './status.js';
import type { NativeThread, ThreadReport } from './types.js';

/** The report fields as both bindings receive them from C (ns_sc_thread_report). */
export interface RawReport {
  callsOk: number;
  failures: number;
  firstError: number;
  checksum: number;
  elapsedNs: number;
}

/** What a binding provides to operate one thread; each throws a typed error on failure. */
export interface ThreadOps {
  join(id: number): RawReport;
  tryJoin(id: number): RawReport | null;
  stop(id: number): void;
  /** Called once, after a successful join: drop what the thread borrowed (buffers). */
  joined(id: number): void;
}

export function toReport(raw: RawReport): ThreadReport {
  return {
    callsOk: raw.callsOk,
    failures: raw.failures,
    firstError: raw.firstError === SC_OK ? null : statusError(raw.firstError, 'A call of the native thread'),
    checksum: raw.checksum >>> 0,
    elapsedNs: raw.elapsedNs,
  };
}

const JOIN_POLL_MS = 1;

export class ThreadHandle implements NativeThread {
  readonly id: number;
  readonly #ops: ThreadOps;
  #report: ThreadReport | null = null;

  constructor(id: number, ops: ThreadOps) {
    this.id = id;
    this.#ops = ops;
  }

  #finish(raw: RawReport): ThreadReport {
    this.#report = toReport(raw);
    this.#ops.joined(this.id);
    return this.#report;
  }

  /**
   * Polls tryJoin from a timer (every JOIN_POLL_MS) instead of blocking a libuv pool thread in a native join: at
   * process exit libuv joins its pool threads, and a pool thread waiting for a native thread that itself waits for
   * the (exiting) JS thread would hang the exit. The timer also keeps the event loop alive until the thread ends.
   */
  async join(): Promise<ThreadReport> {
    for (;;) {
      const report = this.tryJoin();
      if (report !== null) return report;
      await new Promise((resolve) => setTimeout(resolve, JOIN_POLL_MS));
    }
  }

  joinSync(): ThreadReport {
    return this.#report ?? this.#finish(this.#ops.join(this.id));
  }

  tryJoin(): ThreadReport | null {
    if (this.#report) return this.#report;
    const raw = this.#ops.tryJoin(this.id);
    return raw === null ? null : this.#finish(raw);
  }

  stop(): void {
    if (!this.#report) this.#ops.stop(this.id);
  }
}
