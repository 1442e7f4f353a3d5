/**
 * How a waiting side of a ring spends the time until data (or space) arrives.
 *
 * - `'spin'`: never sleeps in the kernel. The JavaScript thread polls the ring synchronously for `spinMicros`
 *   (one *slice*), then yields to the event loop with `setImmediate` and polls again, until the ring is ready. Lowest
 *   latency, one core busy while waiting; no wake-up is ever needed, so it works without the native addon.
 * - `'spin-then-park'` (default): one synchronous spin of at most `spinMicros` (50 µs by default), then parks (§5.1
 *   of docs/wire-format.md) through a {@link Parker} while the event loop runs. The spin adapts to what recent waits
 *   needed (src/ring/spin-budget.ts): it shrinks while data keeps arriving later than `spinMicros` (idle gaps, an
 *   overloaded machine) and grows back when it arrives just after the spin.
 * - `'park'`: parks at once. Lowest CPU use, highest latency (a futex park/wake round trip).
 *
 * The JavaScript thread never blocks: every synchronous spin is bounded by `spinMicros`.
 */
import { invalidArg, checkInteger, type ErrorClass } from '../errors.js';

export type WaitMode = 'spin' | 'spin-then-park' | 'park';

export interface WaitPolicy {
  mode: WaitMode;
  /**
   * Microseconds of one synchronous spin. In `'spin'` mode this is the slice after which the event loop gets a turn;
   * in `'spin-then-park'` the longest spin before parking (the adaptive spin stays at or below it); ignored in `'park'` mode. Integer 0 … {@link MAX_SPIN_MICROS}.
   */
  spinMicros?: number;
}

/**
 * Default spin before parking, in microseconds: 50, the C side's NS_WAIT_DEFAULT_SPIN_NS, so both ends of a ring
 * behave alike by default. Why that long: a park makes the next wake-up cost a system call for the waker and a
 * sleeping wake-up for this side, several microseconds each on a 2-core virtual machine (a C futex ping-pong measured
 * ≈ 10 µs round trip there), while the reply to a request, or the next command of a caller that awaits each request,
 * usually comes within a few microseconds. With a 5 µs spin (this default until issue 11) replies that took a little
 * longer than the spin paid a park and a wake, which made the request round trip's p99 6–15 × its p50; the benchmark
 * `npm run bench -- sidecar` measures both. The price: a side that runs out of work burns up to 50 µs of CPU before it
 * sleeps (at most 5 % of a core at 1,000 sporadic messages per second); `{ mode: 'park' }` or a smaller `spinMicros`
 * trade latency for CPU.
 */
export const DEFAULT_SPIN_THEN_PARK_MICROS = 50;

/**
 * Default synchronous slice of the `'spin'` mode, in microseconds. A design choice: short enough that timers and I/O
 * callbacks of the same event loop are delayed by at most this much per slice, long enough that the `setImmediate`
 * between slices (a few microseconds) is a small fraction of the time spent polling.
 */
export const DEFAULT_SPIN_SLICE_MICROS = 50;

/** Upper bound for `spinMicros` (one second): a longer synchronous spin would starve the event loop. */
export const MAX_SPIN_MICROS = 1_000_000;

export const DEFAULT_WAIT_POLICY: Readonly<WaitPolicy> = Object.freeze({
  mode: 'spin-then-park',
  spinMicros: DEFAULT_SPIN_THEN_PARK_MICROS,
});

/** A validated wait policy with every field filled in. */
export interface ResolvedWaitPolicy {
  readonly mode: WaitMode;
  readonly spinMicros: number;
}

const MODES: readonly WaitMode[] = ['spin', 'spin-then-park', 'park'];

/**
 * Validates `policy` (undefined → {@link DEFAULT_WAIT_POLICY}) and fills in the mode's default `spinMicros`.
 * Throws ERR_INVALID_ARG naming `name` (or `name.mode` / `name.spinMicros`), of class `Kind` (default
 * NativeSidecarError; the Sidecar passes SidecarError). Any thread.
 */
export function resolveWaitPolicy(policy: unknown, name = 'waitPolicy', Kind?: ErrorClass): ResolvedWaitPolicy {
  if (policy === undefined) return { mode: 'spin-then-park', spinMicros: DEFAULT_SPIN_THEN_PARK_MICROS };
  if (policy === null || typeof policy !== 'object') {
    throw invalidArg(name, "an object such as { mode: 'spin-then-park' }", policy, Kind);
  }
  const { mode, spinMicros } = policy as { mode?: unknown; spinMicros?: unknown };
  if (typeof mode !== 'string' || !(MODES as readonly string[]).includes(mode)) {
    throw invalidArg(`${name}.mode`, "one of 'spin', 'spin-then-park' or 'park'", mode, Kind);
  }
  const fallback = mode === 'spin' ? DEFAULT_SPIN_SLICE_MICROS : mode === 'park' ? 0 : DEFAULT_SPIN_THEN_PARK_MICROS;
  const micros = spinMicros === undefined ? fallback : checkInteger(`${name}.spinMicros`, spinMicros, 0, MAX_SPIN_MICROS, Kind);
  return { mode: mode as WaitMode, spinMicros: mode === 'park' ? 0 : micros };
}
