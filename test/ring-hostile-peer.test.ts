// Issue 8, "a peer must not be able to crash Node through a region": a separate process (native/test/ring_scribbler.c)
// writes random 32/64-bit values into a live ring — descriptor, positions, park words, record headers, payloads —
// between legitimate records, while this process reads the ring with every read API. The reads run in this test's
// own process, so a read that crashed Node would kill the test runner's child and fail the file.
//
// What must hold, for every call: it returns, or throws a NativeSidecarError (src/errors.ts) with one of the codes its
// documentation lists — anything else fails the test; every wait settles within its timeout (a watchdog races each
// one); every payload delivered lies in the ring's data area and within max_payload. After the run, a fresh ring on a
// fresh region carries a legitimate producer's records intact.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { NativeSidecarError, Ring, SharedRegion, type WaitPolicy } from '../src/index.js';
import { RECORD_HEADER_SIZE, RECORD_TYPE_MAX_USER, RING_DATA_OFFSET, RING_HEADER_SIZE } from '../src/ring/layout.js';
import { CONTROL, addControlSegment, spawnScribbler } from './helpers/ring-scribbler.js';
import { STRESS_HEADER_SIZE, checkStressRecord, xorshift32 } from './helpers/stress-payload.js';

const CAPACITY = 4096;
const REGION_SIZE = 16384;
/** Scribbles per run, unless HOSTILE_MS runs out first: the issue asks for at least 10,000 (asserted). 100,000 took
 * 11.7 s on the idle 2-core development machine and 33 s while another build loaded it, hence the time bound. */
const SCRIBBLES = 100_000;
const HOSTILE_MS = 15_000;
/** Records of the legitimate producer on the fresh region. */
const FRESH_RECORDS = 20_000;
/** A wait that has not settled this long after its timeout counts as hung (a bound for a loaded 2-core machine). */
const HANG_SLACK_MS = 2000;
/** The scribbler acknowledges a reset within one loop iteration (≤ about 1 ms); much longer means it is stuck. */
const ACK_BOUND_MS = 5000;
const TIMEOUTS_MS = [0, 1, 2, 5, 20];
/** The scribbler's seed (its choices of targets and values); the interleaving with the reader is not reproducible. */
const SCRIBBLER_SEED = 8;
const POLICIES: WaitPolicy[] = [{ mode: 'park' }, { mode: 'spin-then-park', spinMicros: 5 }, { mode: 'spin', spinMicros: 20 }];

/** The codes each API documents for what a peer can cause (src/ring/ring.ts). Any other code, or an untyped
 * exception, is a failure. */
const ALLOWED = {
  drain: ['ERR_RING_CORRUPT'],
  peek: ['ERR_RING_CORRUPT'],
  release: ['ERR_RING_CORRUPT'],
  readable: ['ERR_RING_CORRUPT', 'ERR_TIMEOUT', 'ERR_ABORTED'],
  attach: ['ERR_RING_CORRUPT'],
  salvage: ['ERR_RING_CORRUPT'],
} as const;
type Api = keyof typeof ALLOWED;

function immediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('a hostile peer scribbling on a live ring cannot crash, hang or confuse Node (issue 8)', () => {
  test('every read API meets 10,000 to 100,000 scribbles with records or typed errors, payloads in bounds and waits settled in time, and a fresh ring on a fresh region works afterwards', { timeout: 120_000 }, async (t) => {
    const started = performance.now();
    using region = SharedRegion.create({ size: REGION_SIZE });
    const control = addControlSegment(region);
    let ring = region.createRing(CAPACITY, { waitPolicy: POLICIES[0]! });
    const ringSegment = region.segments[region.segments.length - 1]!;
    const dataStart = ringSegment.offset + RING_DATA_OFFSET;
    const ctl = control.words;
    const SEED = 0x5eed;
    const rng = xorshift32(SEED);

    const errors = new Map<string, number>();
    const count = (key: string): void => void errors.set(key, (errors.get(key) ?? 0) + 1);
    const stats = {
      readableCalls: 0,
      readableTimeouts: 0,
      maxOvershootMs: 0,
      records: 0,
      intact: 0,
      drains: 0,
      peeks: 0,
      observers: 0,
      observersRefused: 0,
      salvaged: 0,
      resets: { corrupt: 0, ended: 0, stuck: 0 },
    };

    /** The §4 bounds of a delivered payload: a view of this region's buffer, inside the data area of `reader`'s ring
     * (which lies inside the segment), 8-byte aligned after its header, at most maxPayload long. */
    const checkPayload = (reader: Ring, type: number, byteOffset: number, length: number): void => {
      assert.ok(Number.isInteger(type) && type >= 0 && type <= RECORD_TYPE_MAX_USER, `type ${type}`);
      assert.ok(length <= reader.maxPayload, `a payload of ${length} bytes, max_payload ${reader.maxPayload}`);
      const index = byteOffset - dataStart;
      assert.ok(index >= RECORD_HEADER_SIZE && index % 8 === 0, `a payload at data index ${index}`);
      assert.ok(index + length <= reader.capacity, `a payload [${index}, ${index + length}) past capacity ${reader.capacity}`);
      assert.ok(RING_HEADER_SIZE + index + length <= ringSegment.size, 'a payload past the ring segment');
    };
    const deliver = (type: number, payload: Uint8Array): void => {
      assert.equal(payload.buffer, region.buffer, 'a payload is a view of the region');
      checkPayload(ring, type, payload.byteOffset, payload.length);
      stats.records++;
      if (payload.length >= STRESS_HEADER_SIZE && checkStressRecord(type, payload, new DataView(payload.buffer, payload.byteOffset).getUint32(0, true)) === null) {
        stats.intact++;
      }
    };
    /** Returns the code of a documented, typed error; fails the test on anything else. */
    const typed = (api: Api, error: unknown): string => {
      if (!(error instanceof NativeSidecarError) || !(ALLOWED[api] as readonly string[]).includes(error.code)) {
        assert.fail(`${api} threw something it does not document: ${inspect(error)}`);
      }
      count(`${api} ${error.code}`);
      return error.code;
    };

    const scribbler = spawnScribbler(region, { ring: ringSegment.index, control: control.index, scribbles: SCRIBBLES, maxMs: HOSTILE_MS, seed: SCRIBBLER_SEED, writes: 8, maxLength: 256 });
    // seq_cst load: the scribbler stores `finished` (release) after its last store to the ring.
    const finished = (): boolean => scribbler.closed() || Atomics.load(ctl, CONTROL.FINISHED) === 1;
    let generation = 0;

    /** Re-initialises the ring in place once the scribbler has stopped touching it (the control protocol of
     * ring_scribbler.c). Returns false when the scribbler finished instead of acknowledging. */
    const reset = async (why: keyof typeof stats.resets): Promise<boolean> => {
      const request = generation + 1;
      Atomics.store(ctl, CONTROL.RESET_REQUEST, request);
      const deadline = performance.now() + ACK_BOUND_MS;
      // seq_cst load of the ack, pairing with the scribbler's release store: its stores to the ring happen before the
      // Ring.create() below, so none of them lands in the fresh header.
      while (Atomics.load(ctl, CONTROL.RESET_ACK) !== request) {
        if (finished()) return false;
        assert.ok(performance.now() < deadline, `the scribbler did not acknowledge reset ${request} within ${ACK_BOUND_MS} ms`);
        await immediate();
      }
      stats.resets[why]++;
      const start = rng() % 4 === 0 ? (2 ** 32 - 8 * (rng() % 1024)) % 2 ** 32 : 8 * (rng() % 100_000);
      ring = Ring.create(region.buffer, { byteOffset: ringSegment.offset, capacity: CAPACITY, initialPosition: start, waitPolicy: POLICIES[rng() % POLICIES.length]! });
      generation = request;
      // seq_cst store after the header writes of Ring.create(), pairing with the scribbler's acquire load of
      // reset_done: its ns_ring_attach sees the fresh ring.
      Atomics.store(ctl, CONTROL.RESET_DONE, request);
      return true;
    };

    /** readable() bounded by a timeout or (one call in four) by an AbortSignal.timeout(), raced against a watchdog:
     * it must settle within that limit plus the slack, and a timeout must not come early. */
    const timedReadable = async (timeout: number): Promise<boolean> => {
      stats.readableCalls++;
      const bySignal = rng() % 4 === 0;
      const begin = performance.now();
      let watchdog: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => {
        const what = bySignal ? `readable({ signal: AbortSignal.timeout(${timeout}) })` : `readable({ timeout: ${timeout} })`;
        watchdog = setTimeout(() => reject(new Error(`${what} had not settled after ${timeout + HANG_SLACK_MS} ms`)), timeout + HANG_SLACK_MS);
      });
      try {
        return await Promise.race([ring.readable(bySignal ? { signal: AbortSignal.timeout(timeout) } : { timeout }), hung]);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === 'ERR_TIMEOUT' || code === 'ERR_ABORTED') {
          stats.readableTimeouts++;
          assert.equal(code, bySignal ? 'ERR_ABORTED' : 'ERR_TIMEOUT');
          if (!bySignal) assert.ok(performance.now() - begin >= timeout - 1, `ERR_TIMEOUT after ${performance.now() - begin} ms of a ${timeout} ms timeout`);
        }
        throw error;
      } finally {
        clearTimeout(watchdog);
        stats.maxOvershootMs = Math.max(stats.maxOvershootMs, performance.now() - begin - timeout);
      }
    };

    /** A second Ring attached to the live ring (neither end is its own): attach, then salvage() (which only reads). */
    const observe = (): void => {
      let observer: Ring;
      try {
        observer = region.ring(ringSegment.index);
      } catch (error) {
        typed('attach', error);
        stats.observersRefused++;
        return;
      }
      stats.observers++;
      const { records, error } = observer.salvage();
      for (const record of records) checkPayload(observer, record.type, record.byteOffset, record.payload.length);
      stats.salvaged += records.length;
      if (error !== undefined) typed('salvage', error); // returned, not thrown: ERR_RING_CORRUPT
    };

    while (!finished()) {
      // seq_cst load: the scribbler's producer end failed (a scribble hit head or set the consumer-closed bit).
      if (Atomics.load(ctl, CONTROL.NEEDS_RESET) === generation + 1) {
        await reset('stuck');
        continue;
      }
      const op = rng() % 16;
      let api: Api = 'readable';
      let ended = false;
      try {
        if (op < 6) {
          ended = !(await timedReadable(TIMEOUTS_MS[rng() % TIMEOUTS_MS.length]!));
        } else if (op < 10) {
          api = 'drain';
          stats.drains++;
          const limit = rng() % 3 === 0 ? undefined : 1 + (rng() % 32);
          ring.drain(deliver, limit);
        } else if (op < 14) {
          for (let i = 1 + (rng() % 8); i > 0; i--) {
            api = 'peek';
            stats.peeks++;
            const record = ring.peek();
            if (record === null) break;
            deliver(record.type, record.payload);
            api = 'release';
            ring.release();
          }
        } else {
          api = 'attach';
          observe();
        }
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        if (typed(api, error) === 'ERR_RING_CORRUPT' && !(await reset('corrupt'))) break;
        continue;
      }
      // The peer set the producer-closed bit and the ring is empty: the stream ended; begin a new one.
      if (ended && !(await reset('ended'))) break;
      if (op >= 6) await immediate(); // let the scribbler's output and exit be seen between synchronous reads
    }

    const { result, code, signal } = await scribbler.result;
    assert.deepEqual({ code, signal, ok: result.ok, error: result.error }, { code: 0, signal: null, ok: true, error: null });
    const hostileMs = performance.now() - started;
    assert.ok(result.scribbles >= 10_000, `${result.scribbles} scribbles`);
    assert.ok((errors.get('drain ERR_RING_CORRUPT') ?? 0) + (errors.get('peek ERR_RING_CORRUPT') ?? 0) + (errors.get('readable ERR_RING_CORRUPT') ?? 0) > 0, 'the scribbles were detected');
    assert.ok(stats.intact > 0, 'real records were read between the scribbles');
    assert.ok(stats.observers > 0 && stats.observersRefused > 0, 'observers attached, and some were refused');

    // A fresh ring on a fresh region, after all those corrupt errors in this process: every record of a legitimate
    // producer arrives, in order and intact, then the end of the stream.
    using fresh = SharedRegion.create({ size: REGION_SIZE });
    const freshControl = addControlSegment(fresh);
    const freshRing = fresh.createRing(CAPACITY);
    const producer = spawnScribbler(fresh, { ring: fresh.segments.length - 1, control: freshControl.index, scribbles: 0, records: FRESH_RECORDS, seed: 9, maxLength: 256 });
    let expected = 0;
    while (await freshRing.readable({ timeout: 10_000 })) {
      freshRing.drain((type, payload) => {
        const problem = checkStressRecord(type, payload, expected);
        assert.equal(problem, null, problem ?? '');
        expected++;
      });
    }
    assert.equal(expected, FRESH_RECORDS);
    const legit = await producer.result;
    assert.deepEqual({ code: legit.code, ok: legit.result.ok, records: legit.result.records }, { code: 0, ok: true, records: FRESH_RECORDS });

    t.diagnostic(`scribbles ${result.scribbles} by the peer, which wrote ${result.records} records (${result.full} times the ring was full) and had its own end fail ${result.producerFailures} times`);
    t.diagnostic(`records read ${stats.records} (${stats.intact} intact stress records), ${stats.drains} drain() and ${stats.peeks} peek() calls, ${stats.readableCalls} readable() calls (${stats.readableTimeouts} ERR_TIMEOUT or ERR_ABORTED, worst lateness ${stats.maxOvershootMs.toFixed(1)} ms)`);
    t.diagnostic(`observers attached ${stats.observers}, refused ${stats.observersRefused}; salvage() copied ${stats.salvaged} records`);
    t.diagnostic(`typed errors: ${[...errors].map(([key, n]) => `${key} ${n}`).join(', ')}`);
    t.diagnostic(`rings re-initialised: ${stats.resets.corrupt} after ERR_RING_CORRUPT, ${stats.resets.ended} after a scribbled end of stream, ${stats.resets.stuck} for the peer's failed end`);
    t.diagnostic(`seeds: reader ${SEED}, scribbler ${SCRIBBLER_SEED}`);
    t.diagnostic(`hostile phase ${(hostileMs / 1000).toFixed(1)} s, fresh region ${FRESH_RECORDS} records, total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });
});
