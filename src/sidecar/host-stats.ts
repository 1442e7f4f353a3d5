/**
 * The host statistics of a sidecar region (docs/wire-format.md §8.4): four u32 words in block 0's second cache line
 * that the host stores and only an outside reader (`npx native-sidecar stat`) reads. Display-only: plain stores into
 * a Uint32Array over the region (an aligned 32-bit store is single-copy atomic; no Atomics, no fence), paired with
 * nothing, wrapping modulo 2^32 like the Uint32Array itself.
 *
 * Threading: the JavaScript thread that owns the Sidecar is the only writer.
 */
import {
  CONTROL_COMMANDS_SENT_OFFSET,
  CONTROL_MESSAGES_RECEIVED_OFFSET,
  CONTROL_PENDING_REQUESTS_OFFSET,
  CONTROL_RESTARTS_OFFSET,
  HOST_STATS_OFFSET,
} from './layout.js';

/**
 * False only when the environment variable NATIVE_SIDECAR_HOST_STATS is '0' when this module loads: an internal,
 * undocumented switch for bench/stats-cost.ts, which measures what the stores cost. The words then stay 0.
 */
export const HOST_STATS_ENABLED = process.env.NATIVE_SIDECAR_HOST_STATS !== '0';

const I32 = Uint32Array.BYTES_PER_ELEMENT;
/** Word indexes in the view hostStatsView() returns. */
export const STAT_COMMANDS_SENT = (CONTROL_COMMANDS_SENT_OFFSET - HOST_STATS_OFFSET) / I32;
export const STAT_MESSAGES_RECEIVED = (CONTROL_MESSAGES_RECEIVED_OFFSET - HOST_STATS_OFFSET) / I32;
export const STAT_PENDING_REQUESTS = (CONTROL_PENDING_REQUESTS_OFFSET - HOST_STATS_OFFSET) / I32;
export const STAT_RESTARTS = (CONTROL_RESTARTS_OFFSET - HOST_STATS_OFFSET) / I32;
const STAT_WORDS = 4;

/**
 * The four host statistics words of the control block at `controlOffset` of `buffer`, or undefined when the
 * statistics are switched off (HOST_STATS_ENABLED). The view is valid as long as the region is mapped.
 */
export function hostStatsView(buffer: ArrayBuffer, controlOffset: number): Uint32Array | undefined {
  if (!HOST_STATS_ENABLED) return undefined;
  return new Uint32Array(buffer, controlOffset + HOST_STATS_OFFSET, STAT_WORDS);
}

/**
 * A restart moved the Sidecar to a fresh region: the counters run on there, and the restart is counted (§8.4).
 * Called before the fresh region is handed to a sidecar (the words are the host's either way).
 */
export function carryHostStats(from: Uint32Array | undefined, to: Uint32Array | undefined): void {
  if (from === undefined || to === undefined) return;
  to.set(from);
  to[STAT_RESTARTS] = to[STAT_RESTARTS]! + 1;
}
