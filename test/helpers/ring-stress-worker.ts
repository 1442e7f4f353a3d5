/**
 * Worker side of test/ring-workers.test.ts: one JS worker produces stress records into a ring in a
 * SharedArrayBuffer, another consumes and verifies them. Both use a synchronous, bounded spin with backoff
 * (Atomics.wait with a short timeout on a private word: a sleep, not a wait for the peer), so neither needs a parker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Ring } from '../../src/ring/ring.js';
import { RING_CLOSED_OFFSET, RING_CLOSED_PRODUCER } from '../../src/ring/layout.js';
import { STRESS_TYPE, checkStressRecord, fillStressPayload, stressLength, xorshift32 } from './stress-payload.js';

export interface StressWorkerData {
  role: 'producer' | 'consumer';
  buffer: SharedArrayBuffer;
  count: number;
  maxLength: number;
  seed: number;
  deadlineMs: number; // wall-clock budget; the worker reports a timeout instead of running on
  /** Use the async API (write / readable) with this wait policy mode instead of the synchronous spin with backoff. */
  asyncMode?: 'spin' | 'spin-then-park' | 'park';
}

export interface StressWorkerResult {
  role: 'producer' | 'consumer';
  records: number;
  error: string | null;
  fullOrEmptyWaits: number;
}

const SPINS_BEFORE_SLEEP = 128;
const SLEEP_MS = 0.05;
const BATCH = 16;
const sleepWord = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));

class Backoff {
  failures = 0;
  total = 0;
  idle(): void {
    this.total++;
    if (++this.failures > SPINS_BEFORE_SLEEP) Atomics.wait(sleepWord, 0, 0, SLEEP_MS);
  }
  reset(): void {
    this.failures = 0;
  }
}

function produce(data: StressWorkerData): StressWorkerResult {
  const ring = Ring.attach(data.buffer, { waitPolicy: { mode: 'spin' } });
  const next = xorshift32(data.seed);
  const scratch = new Uint8Array(data.maxLength);
  const backoff = new Backoff();
  const deadline = Date.now() + data.deadlineMs;
  let staged = 0;
  for (let seq = 0; seq < data.count; ) {
    const length = stressLength(next, data.maxLength);
    const method = next() % 3; // 0: tryWrite, 1: claim/commit, 2: stage + batched publish
    for (;;) {
      let done: boolean;
      if (method === 1) {
        const view = ring.claim(length);
        if (view !== null) {
          fillStressPayload(view, seq);
          ring.commit(STRESS_TYPE);
        }
        done = view !== null;
      } else {
        const payload = scratch.subarray(0, length);
        fillStressPayload(payload, seq);
        if (method === 0) done = ring.tryWrite(STRESS_TYPE, payload);
        else {
          done = ring.stage(STRESS_TYPE, payload);
          if (done && ++staged === BATCH) {
            ring.publish();
            staged = 0;
          }
        }
      }
      if (done) break;
      ring.publish(); // never wait for room while records are staged: the consumer could be waiting for them
      staged = 0;
      backoff.idle();
      if ((backoff.total & 1023) === 0 && Date.now() > deadline) {
        return { role: 'producer', records: seq, error: `timed out after ${seq} records`, fullOrEmptyWaits: backoff.total };
      }
    }
    backoff.reset();
    seq++;
  }
  ring.closeProducer();
  return { role: 'producer', records: data.count, error: null, fullOrEmptyWaits: backoff.total };
}

/** Checks records in arrival order against the stress format; `handler` (for drain) stops at the first bad one. */
class StressChecker {
  expected = 0;
  error: string | null = null;
  readonly handler = (type: number, payload: Uint8Array): boolean => {
    this.error = checkStressRecord(type, payload, this.expected);
    if (this.error !== null) return true;
    this.expected++;
    return false;
  };

  /** The consumer's result once the ring is done: the first problem seen, else a count that is not `count`. */
  result(count: number, fullOrEmptyWaits: number): StressWorkerResult {
    const error = this.error ?? (this.expected !== count ? `received ${this.expected} records, expected ${count}` : null);
    return { role: 'consumer', records: this.expected, error, fullOrEmptyWaits };
  }
}

function consume(data: StressWorkerData): StressWorkerResult {
  const ring = Ring.attach(data.buffer, { waitPolicy: { mode: 'spin' } });
  const closed = new Int32Array(data.buffer, RING_CLOSED_OFFSET, 1);
  const backoff = new Backoff();
  const deadline = Date.now() + data.deadlineMs;
  const check = new StressChecker();
  for (;;) {
    const n = ring.drain(check.handler, 256);
    if (check.error !== null) break;
    if (n > 0) {
      backoff.reset();
      continue;
    }
    // Seq_cst load of the closed bit, after which one more drain sees every record published before the close.
    if ((Atomics.load(closed, 0) & RING_CLOSED_PRODUCER) !== 0) {
      ring.drain(check.handler, Number.MAX_SAFE_INTEGER);
      if (check.error === null && ring.peek() !== null) check.error = 'records remained after the final drain';
      break;
    }
    backoff.idle();
    if ((backoff.total & 1023) === 0 && Date.now() > deadline) {
      check.error = `timed out after ${check.expected} records`;
      break;
    }
  }
  return check.result(data.count, backoff.total);
}

/** The async variant: write() and readable() park through the default (native) parker when the policy says so. */
async function produceAsync(data: StressWorkerData): Promise<StressWorkerResult> {
  const ring = Ring.attach(data.buffer, { waitPolicy: { mode: data.asyncMode! } });
  const next = xorshift32(data.seed);
  const scratch = new Uint8Array(data.maxLength);
  try {
    for (let seq = 0; seq < data.count; seq++) {
      const payload = scratch.subarray(0, stressLength(next, data.maxLength));
      fillStressPayload(payload, seq);
      await ring.write(STRESS_TYPE, payload, { timeout: data.deadlineMs });
    }
  } catch (e) {
    return { role: 'producer', records: -1, error: String(e), fullOrEmptyWaits: 0 };
  }
  ring.closeProducer();
  return { role: 'producer', records: data.count, error: null, fullOrEmptyWaits: 0 };
}

async function consumeAsync(data: StressWorkerData): Promise<StressWorkerResult> {
  const ring = Ring.attach(data.buffer, { waitPolicy: { mode: data.asyncMode! } });
  const check = new StressChecker();
  let waits = 0;
  try {
    while (check.error === null && (await ring.readable({ timeout: data.deadlineMs }))) {
      waits++;
      ring.drain(check.handler, 64); // small batches: the producer often finds the ring full and parks too
    }
  } catch (e) {
    check.error = String(e);
  }
  return check.result(data.count, waits);
}

// Inert unless started as a worker by ring-workers.test.ts (a test runner may load every .js file it finds).
if (parentPort !== null && workerData !== null && typeof workerData === 'object') {
  const data = workerData as StressWorkerData;
  if (data.asyncMode === undefined) parentPort.postMessage(data.role === 'producer' ? produce(data) : consume(data));
  else {
    const port = parentPort;
    void (data.role === 'producer' ? produceAsync(data) : consumeAsync(data)).then((result) => port.postMessage(result));
  }
}
