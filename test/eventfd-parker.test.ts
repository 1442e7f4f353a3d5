import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { EventfdParker, SharedRegion, type Parker, type ParkResult, type WaitPolicy } from '../src/index.js';
import { startProcessPeer, startThreadPeer, type PeerHandle, type PeerOptions } from '../src/testing/peers.js';
import { STRESS_TYPE, checkStressRecord, fillStressPayload } from './helpers/stress-payload.js';
import { consumeStressRecords } from './helpers/stress-consumer.js';
import { assertExitsWithWaitsPending, runNode } from './helpers/run-node.js';

/** Every test that could hang on a lost wake-up fails after this instead. */
const BOUND = { timeout: 60_000 };
/** A wait that is expected to be woken; reaching this is a lost wake-up (counted, and the test fails). */
const WAIT_MS = 10_000;
const INDEX_URL = new URL('../src/index.js', import.meta.url).href;
const PARK: WaitPolicy = { mode: 'park' };
const CAPACITY = 16 * 1024;

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Delegates to an EventfdParker and counts how its waits ended, so a wake-up lost (ended by timeout) shows up. */
class CountingParker implements Parker {
  readonly results = new Map<ParkResult, number>();
  constructor(readonly inner: EventfdParker) {}
  wake(view: Int32Array, index: number): void {
    this.inner.wake(view, index);
  }
  async wait(view: Int32Array, index: number, expected: number, timeoutMs: number, signal?: AbortSignal): Promise<ParkResult> {
    const result = await this.inner.wait(view, index, expected, timeoutMs, signal);
    this.results.set(result, (this.results.get(result) ?? 0) + 1);
    return result;
  }
  close(): void {
    this.inner.close();
  }
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('EventfdParker', () => {
  test('resolves not-equal at once when the word no longer holds the expected value', BOUND, async () => {
    const parker = new EventfdParker();
    const view = new Int32Array(new SharedArrayBuffer(16));
    view[1] = 7;
    assert.equal(await parker.wait(view, 1, 6, -1), 'not-equal');
    view[1] = -1;
    assert.equal(await parker.wait(view, 1, 0xffffffff, 0), 'timed-out', 'expected values compare as 32 bits');
    parker.close();
  });

  test('a wake written to the eventfd before the wait starts is not lost', BOUND, async () => {
    const parker = new EventfdParker();
    const view = new Int32Array(new SharedArrayBuffer(4));
    parker.signal(); // before any wait, and before the event loop had a chance to poll
    assert.equal(await parker.wait(view, 0, 0, WAIT_MS), 'ok');
    // Once consumed, the next wait sleeps until its timeout.
    assert.equal(await parker.wait(view, 0, 0, 20), 'timed-out');
    parker.close();
  });

  test('one readable eventfd resolves every pending wait', BOUND, async () => {
    const parker = new EventfdParker();
    const view = new Int32Array(new SharedArrayBuffer(8));
    const waits = [parker.wait(view, 0, 0, WAIT_MS), parker.wait(view, 1, 0, WAIT_MS), parker.wait(view, 0, 0, WAIT_MS)];
    await nextTurn();
    parker.signal();
    assert.deepEqual(await Promise.all(waits), ['ok', 'ok', 'ok']);
    parker.close();
  });

  test('times out when nobody writes the eventfd', BOUND, async () => {
    const parker = new EventfdParker();
    const view = new Int32Array(new SharedArrayBuffer(4));
    assert.equal(await parker.wait(view, 0, 0, 0), 'timed-out');
    assert.equal(await parker.wait(view, 0, 0, 30), 'timed-out');
    parker.close();
  });

  test('an AbortSignal rejects a pending wait and refuses a new one with ERR_ABORTED', BOUND, async () => {
    const parker = new EventfdParker();
    const view = new Int32Array(new SharedArrayBuffer(4));
    const controller = new AbortController();
    const pending = parker.wait(view, 0, 0, WAIT_MS, controller.signal);
    await nextTurn();
    controller.abort(new Error('stop'));
    await assert.rejects(pending, { code: 'ERR_ABORTED' });
    await assert.rejects(parker.wait(view, 0, 0, WAIT_MS, controller.signal), { code: 'ERR_ABORTED' });
    // The parker still works afterwards.
    parker.signal();
    assert.equal(await parker.wait(view, 0, 0, WAIT_MS), 'ok');
    parker.close();
  });

  test('close() rejects pending and later waits with ERR_INVALID_STATE, closes the fd and is idempotent', BOUND, async () => {
    const parker = new EventfdParker();
    const view = new Int32Array(new SharedArrayBuffer(4));
    assert.ok(parker.fd >= 0);
    const pending = parker.wait(view, 0, 0, -1);
    parker.close();
    await assert.rejects(pending, { code: 'ERR_INVALID_STATE' });
    await assert.rejects(parker.wait(view, 0, 0, 10), { code: 'ERR_INVALID_STATE' });
    assert.throws(() => parker.signal(), { code: 'ERR_INVALID_STATE' });
    assert.equal(parker.fd, -1);
    parker.close();
  });

  test('bad arguments reject with ERR_INVALID_ARG', BOUND, async () => {
    const parker = new EventfdParker();
    const view = new Int32Array(new SharedArrayBuffer(8));
    await assert.rejects(parker.wait(new Uint32Array(2) as unknown as Int32Array, 0, 0, 10), { code: 'ERR_INVALID_ARG' });
    await assert.rejects(parker.wait(view, 2, 0, 10), { code: 'ERR_INVALID_ARG' });
    await assert.rejects(parker.wait(view, 0, 0.5, 10), { code: 'ERR_INVALID_ARG' });
    await assert.rejects(parker.wait(view, 0, 0, Number.NaN), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => parker.wake(view, 5), { code: 'ERR_INVALID_ARG' });
    parker.close();
  });

  test('200 create/close cycles leak no file descriptor', BOUND, async () => {
    const view = new Int32Array(new SharedArrayBuffer(4));
    const before = openFds();
    for (let i = 0; i < 200; i++) {
      const parker = new EventfdParker();
      parker.signal();
      assert.equal(await parker.wait(view, 0, 0, WAIT_MS), 'ok');
      const pending = parker.wait(view, 0, 0, -1);
      parker.close();
      await assert.rejects(pending, { code: 'ERR_INVALID_STATE' });
    }
    await nextTurn();
    assert.equal(openFds(), before);
  });
});

describe('EventfdParker and process lifetime', () => {
  test('an idle parker, even never closed, does not keep the process alive', BOUND, () => {
    const r = runNode(
      `import { EventfdParker } from ${JSON.stringify(INDEX_URL)};
       const p = new EventfdParker(); const v = new Int32Array(new SharedArrayBuffer(4));
       p.signal(); console.log(await p.wait(v, 0, 0, 10000));
       console.log(await p.wait(v, 0, 0, 5)); // then idle, never closed`,
    );
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['ok', 'timed-out']);
  });

  test('a pending wait keeps the process alive until it completes', BOUND, () => {
    const r = runNode(
      `import { EventfdParker } from ${JSON.stringify(INDEX_URL)};
       const p = new EventfdParker();
       p.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200).then(console.log);`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'timed-out');
  });

  test('parkers dropped without close() are collected and close their fds', BOUND, () => {
    const r = runNode(
      `import { readdirSync } from 'node:fs';
       import { EventfdParker } from ${JSON.stringify(INDEX_URL)};
       const count = () => readdirSync('/proc/self/fd').length;
       const before = count();
       for (let i = 0; i < 200; i++) new EventfdParker();
       const during = count();
       for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
       console.log(during - before, count() - before);`,
      ['--expose-gc'],
    );
    assert.equal(r.status, 0, r.stderr);
    const [during, after] = r.stdout.trim().split(' ').map(Number);
    assert.ok(during! >= 200, `the parkers held their fds while alive (${during})`);
    assert.equal(after, 0, 'every fd was closed after collection');
  });

  test('process.exit and worker termination with waits pending exit cleanly', BOUND, () => {
    assertExitsWithWaitsPending(INDEX_URL, 'EventfdParker');
  });
});

describe('rings parked through the eventfd, woken by native peers', () => {
  const kinds: Array<[string, (region: SharedRegion, options: PeerOptions) => PeerHandle]> = [
    ['thread', startThreadPeer],
    ['process', startProcessPeer],
  ];

  for (const [kind, start] of kinds) {
    test(`a JS consumer parked with an EventfdParker is woken by a native producer ${kind}`, BOUND, async () => {
      const parker = new CountingParker(new EventfdParker());
      using region = SharedRegion.create({ size: 65536 });
      const ring = region.createRing(CAPACITY, { waitPolicy: PARK, parker });
      // Park first, with nothing published: only the peer's eventfd write can end this wait.
      const first = ring.readable({ timeout: WAIT_MS });
      await new Promise((r) => setTimeout(r, 20));
      const count = 20_000;
      // batch 1: every record is published (and, when the consumer is parked, woken) on its own.
      const peer = start(region, { mode: 'produce', output: 0, count, maxLength: 64, batch: 1, waitPolicy: PARK, idleTimeoutMs: WAIT_MS, wakeFd: parker.inner.fd });
      assert.equal(await first, true);
      assert.equal(await consumeStressRecords(ring, WAIT_MS), count);
      const result = await peer.done;
      assert.equal(result.ok, true, result.error ?? '');
      assert.ok((parker.results.get('ok') ?? 0) >= 1, 'at least the first wait was ended by the eventfd');
      assert.equal(parker.results.get('timed-out') ?? 0, 0, 'no wait ended by its timeout (a lost wake-up)');
      parker.close();
    });

    test(`2,000 round trips through an echo ${kind} with both sides parked, JS on the eventfd, lose no wake-up`, BOUND, async () => {
      const parker = new CountingParker(new EventfdParker());
      using region = SharedRegion.create({ size: 65536 });
      const out = region.createRing(CAPACITY, { waitPolicy: PARK, parker });
      const back = region.createRing(CAPACITY, { waitPolicy: PARK, parker });
      const peer = start(region, { mode: 'echo', input: 0, output: 1, batch: 1, waitPolicy: PARK, idleTimeoutMs: WAIT_MS, wakeFd: parker.inner.fd });
      const payload = new Uint8Array(16);
      for (let seq = 0; seq < 2000; seq++) {
        fillStressPayload(payload, seq);
        assert.equal(out.tryWrite(STRESS_TYPE, payload), true);
        while (back.peek() === null) assert.equal(await back.readable({ timeout: WAIT_MS }), true);
        const record = back.peek();
        assert.ok(record !== null);
        assert.equal(checkStressRecord(record.type, record.payload, seq), null);
        back.release();
      }
      out.closeProducer();
      assert.equal(await back.readable({ timeout: WAIT_MS }), false, 'the echo closed its ring after ours (woken through the eventfd)');
      const result = await peer.done;
      assert.equal(result.ok, true, result.error ?? '');
      assert.equal(result.records, 2000);
      assert.ok((parker.results.get('ok') ?? 0) >= 1, 'waits were ended by the eventfd');
      assert.equal(parker.results.get('timed-out') ?? 0, 0, 'no wait ended by its timeout (a lost wake-up)');
      parker.close();
    });
  }

  test('a JS producer waiting for space is woken through the eventfd by a native consumer process', BOUND, async () => {
    const parker = new CountingParker(new EventfdParker());
    using region = SharedRegion.create({ size: 65536 });
    const ring = region.createRing(4096, { waitPolicy: PARK, parker });
    const count = 5000;
    const peer = startProcessPeer(region, { mode: 'verify', input: 0, count, waitPolicy: PARK, idleTimeoutMs: WAIT_MS, wakeFd: parker.inner.fd });
    const payload = new Uint8Array(256); // 5000 × 264 B through 4 KiB: the producer fills the ring and parks often
    for (let seq = 0; seq < count; seq++) {
      fillStressPayload(payload, seq);
      await ring.write(STRESS_TYPE, payload, { timeout: WAIT_MS });
    }
    ring.closeProducer();
    const result = await peer.done;
    assert.equal(result.ok, true, result.error ?? '');
    assert.equal(result.records, count);
    assert.equal(parker.results.get('timed-out') ?? 0, 0, 'no wait ended by its timeout (a lost wake-up)');
    parker.close();
  });
});
