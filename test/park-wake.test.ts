import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { NativeParker, SharedRegion, type WaitPolicy } from '../src/index.js';
import { startProcessPeer, startThreadPeer, type PeerHandle } from '../src/testing/peers.js';
import { STRESS_TYPE, checkStressRecord, fillStressPayload } from './helpers/stress-payload.js';
import { consumeStressRecords } from './helpers/stress-consumer.js';
import { assertExitsWithWaitsPending, runNode } from './helpers/run-node.js';
import { loadAddon, type FutexWaitResult, type NativeFutexWaiter } from '../src/native/addon.js';

/** Every test that could hang on a lost wake-up fails after this instead. */
const BOUND = { timeout: 60_000 };
const INDEX_URL = new URL('../src/index.js', import.meta.url).href;
const ADDON_URL = new URL('../src/native/addon.js', import.meta.url).href;

function waitOnce(waiter: NativeFutexWaiter, view: Int32Array, index: number, expected: number, timeoutMs: number): Promise<FutexWaitResult> {
  return new Promise((resolve) => waiter.wait(view, index, expected, timeoutMs, resolve));
}

for (const singleWordWait of [false, true]) {
  describe(`FutexWaiter (${singleWordWait ? 'single-word fallback' : 'futex_waitv'})`, () => {
    const { FutexWaiter, futexWake } = loadAddon();

    test('reports not-equal at once when the word does not hold the expected value', BOUND, async () => {
      const waiter = new FutexWaiter({ singleWordWait });
      const view = new Int32Array(new SharedArrayBuffer(16));
      view[2] = 5;
      assert.equal(await waitOnce(waiter, view, 2, 4, -1), 'not-equal');
      view[2] = -1;
      assert.equal(await waitOnce(waiter, view, 2, 0xffffffff, 0), 'timed-out', 'expected values are compared as 32 bits');
      waiter.close();
    });

    test('reports timed-out when nobody wakes it', BOUND, async () => {
      const waiter = new FutexWaiter({ singleWordWait });
      const view = new Int32Array(new SharedArrayBuffer(8));
      assert.equal(await waitOnce(waiter, view, 0, 0, 20), 'timed-out');
      assert.equal(await waitOnce(waiter, view, 1, 0, 0), 'timed-out');
      waiter.close();
    });

    test('is woken by futexWake on the same word, and only by a wake of that word', BOUND, async () => {
      using region = SharedRegion.create({ size: 4096 });
      const view = new Int32Array(region.buffer, 1024, 4);
      const waiter = new FutexWaiter({ singleWordWait });
      const result = waitOnce(waiter, view, 1, 0, -1);
      let done = false;
      void result.then(() => (done = true));
      // Wakes of another word do not count.
      for (let i = 0; i < 20; i++) {
        futexWake(view, 2);
        await new Promise((r) => setTimeout(r, 1));
      }
      assert.equal(done, false, 'a wake of another word does not end the wait');
      // Keep waking the right word until the thread is asleep and hears it.
      while (!done) {
        futexWake(view, 1);
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(await result, 'ok');
      waiter.close();
    });

    test('cancel makes a pending wait report cancelled, even right after it started', BOUND, async () => {
      const waiter = new FutexWaiter({ singleWordWait });
      const view = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 0; i < 200; i++) {
        const result = waitOnce(waiter, view, 0, 0, -1);
        assert.equal(waiter.pending, true);
        if (i % 2 === 1) await new Promise((r) => setImmediate(r)); // sometimes let the thread fall asleep first
        waiter.cancel();
        assert.equal(await result, 'cancelled');
        assert.equal(waiter.pending, false);
      }
      waiter.cancel(); // idle: no effect
      waiter.close();
    });

    test('close cancels a pending wait, whose callback still runs once; the closed waiter refuses to wait', BOUND, async () => {
      const waiter = new FutexWaiter({ singleWordWait });
      const view = new Int32Array(new SharedArrayBuffer(4));
      let calls = 0;
      const result = new Promise<FutexWaitResult>((resolve) => waiter.wait(view, 0, 0, -1, (r) => { calls++; resolve(r); }));
      waiter.close();
      waiter.close();
      assert.equal(await result, 'cancelled');
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(calls, 1);
      assert.equal(waiter.closed, true);
      assert.throws(() => waiter.wait(view, 0, 0, -1, () => {}), { code: 'ERR_INVALID_STATE' });
    });
  });
}

describe('FutexWaiter arguments', () => {
  const { FutexWaiter, futexWake } = loadAddon();

  test('bad views, indexes, expected values, timeouts and callbacks are refused naming the argument', () => {
    const waiter = new FutexWaiter();
    const view = new Int32Array(new SharedArrayBuffer(16));
    const cb = (): void => {};
    const bad: Array<[string, () => void]> = [
      ['view', () => waiter.wait(new Uint32Array(4) as never, 0, 0, 0, cb)],
      ['view', () => waiter.wait([0, 0] as never, 0, 0, 0, cb)],
      ['view', () => waiter.wait(new Int32Array(0), 0, 0, 0, cb)],
      ['index', () => waiter.wait(view, 4, 0, 0, cb)],
      ['index', () => waiter.wait(view, -1, 0, 0, cb)],
      ['index', () => waiter.wait(view, 0.5, 0, 0, cb)],
      ['expected', () => waiter.wait(view, 0, 2 ** 32, 0, cb)],
      ['expected', () => waiter.wait(view, 0, 1.5, 0, cb)],
      ['timeoutMs', () => waiter.wait(view, 0, 0, Number.NaN, cb)],
      ['timeoutMs', () => waiter.wait(view, 0, 0, '1' as never, cb)],
      ['callback', () => waiter.wait(view, 0, 0, 0, undefined as never)],
      ['view', () => futexWake(new Float64Array(2) as never, 0)],
      ['index', () => futexWake(view, 99)],
    ];
    for (const [name, call] of bad) {
      assert.throws(call, (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'ERR_INVALID_ARG');
        assert.match((e as Error).message, new RegExp(`'${name}'`));
        return true;
      });
    }
    assert.equal(waiter.pending, false, 'a refused wait leaves the waiter idle');
    waiter.close();
  });

  test('a second wait while one is pending is refused', BOUND, async () => {
    const waiter = new FutexWaiter();
    const view = new Int32Array(new SharedArrayBuffer(4));
    const result = waitOnce(waiter, view, 0, 0, -1);
    assert.throws(() => waiter.wait(view, 0, 0, -1, () => {}), { code: 'ERR_INVALID_STATE' });
    waiter.cancel();
    assert.equal(await result, 'cancelled');
    waiter.close();
  });

  test('a view over a detached buffer is refused', () => {
    using region = SharedRegion.create({ size: 4096 });
    const view = new Int32Array(region.buffer);
    region.close();
    assert.throws(() => futexWake(view, 0), { code: 'ERR_INVALID_ARG' });
  });
});

describe('wake-ups across threads and processes', () => {
  test('a JS waiter is woken by futexWake from a worker thread on a SharedArrayBuffer', BOUND, async () => {
    const parker = new NativeParker();
    const view = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       import(${JSON.stringify(INDEX_URL)}).then(({ NativeParker }) => {
         const p = new NativeParker(); const v = workerData;
         const tick = () => { Atomics.add(v, 0, 1); p.wake(v, 0); if (Atomics.load(v, 1) === 0) setTimeout(tick, 2); else p.close(); };
         tick();
       });`,
      { eval: true, workerData: view },
    );
    for (let woken = 0; woken < 20; ) {
      const seen = Atomics.load(view, 0);
      const result = await parker.wait(view, 0, seen, -1);
      if (result === 'ok') woken++;
    }
    Atomics.store(view, 1, 1);
    await new Promise((r) => worker.once('exit', r));
    parker.close();
  });

  test('a JS waiter is woken by futexWake from another process on a region passed at spawn', BOUND, async () => {
    using region = SharedRegion.create({ size: 4096 });
    const view = new Int32Array(region.buffer, 1024, 2);
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { SharedRegion, NativeParker } from ${JSON.stringify(INDEX_URL)};
         const r = SharedRegion.fromFd(3); const v = new Int32Array(r.buffer, 1024, 2); const p = new NativeParker();
         const tick = () => { Atomics.add(v, 0, 1); p.wake(v, 0); if (Atomics.load(v, 1) === 0) setTimeout(tick, 2); else { p.close(); r.close(); } };
         tick();`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit', region.fd] },
    );
    const parker = new NativeParker();
    for (let woken = 0; woken < 20; ) {
      const result = await parker.wait(view, 0, Atomics.load(view, 0), -1);
      if (result === 'ok') woken++;
    }
    Atomics.store(view, 1, 1);
    assert.equal(await new Promise((r) => child.once('exit', r)), 0);
    parker.close();
  });
});

describe('NativeParker', () => {
  test('an AbortSignal rejects a pending wait with ERR_ABORTED, and an aborted signal rejects at once', BOUND, async () => {
    const parker = new NativeParker();
    const view = new Int32Array(new SharedArrayBuffer(4));
    const controller = new AbortController();
    const pending = parker.wait(view, 0, 0, -1, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(pending, (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'ERR_ABORTED');
      assert.equal(((e as Error).cause as Error).message, 'stop');
      return true;
    });
    await assert.rejects(parker.wait(view, 0, 0, -1, controller.signal), { code: 'ERR_ABORTED' });
    // The waiter went back to the pool and still works.
    assert.equal(await parker.wait(view, 0, 1, -1), 'not-equal');
    parker.close();
  });

  test('many concurrent waits each get their own waiter and all complete', BOUND, async () => {
    const parker = new NativeParker();
    const view = new Int32Array(new SharedArrayBuffer(64));
    const results = Array.from({ length: 16 }, (_, i) => parker.wait(view, i, 0, 10));
    assert.deepEqual(await Promise.all(results), Array(16).fill('timed-out'));
    for (let i = 0; i < 100; i++) assert.equal(await parker.wait(view, 0, 7, -1), 'not-equal');
    parker.close();
  });

  test('close rejects pending waits and refuses new ones', BOUND, async () => {
    const parker = new NativeParker();
    const view = new Int32Array(new SharedArrayBuffer(4));
    const pending = parker.wait(view, 0, 0, -1);
    parker.close();
    await assert.rejects(pending, { code: 'ERR_INVALID_STATE' });
    await assert.rejects(parker.wait(view, 0, 0, -1), { code: 'ERR_INVALID_STATE' });
  });

  test('bad arguments reject with ERR_INVALID_ARG and do not leak the waiter', BOUND, async () => {
    const parker = new NativeParker();
    await assert.rejects(parker.wait(new Int32Array(4), 9, 0, -1), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => parker.wake(new Int32Array(4), 9), { code: 'ERR_INVALID_ARG' });
    assert.equal(await parker.wait(new Int32Array(4), 0, 1, -1), 'not-equal');
    parker.close();
  });
});

describe('process lifetime', () => {
  test('an idle waiter does not keep the process alive', BOUND, () => {
    const r = runNode(
      `import { loadAddon } from ${JSON.stringify(ADDON_URL)};
       const w = new (loadAddon().FutexWaiter)();
       w.wait(new Int32Array(1), 0, 0, 5, (res) => { console.log(res); }); // then idle, never closed`,
    );
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'timed-out');
  });

  test('a pending wait keeps the process alive until it completes', BOUND, () => {
    const r = runNode(
      `import { loadAddon } from ${JSON.stringify(ADDON_URL)};
       const w = new (loadAddon().FutexWaiter)();
       w.wait(new Int32Array(1), 0, 0, 200, (res) => { console.log(res); });`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'timed-out');
  });

  test('process.exit and worker termination with a wait pending exit cleanly', BOUND, () => {
    assertExitsWithWaitsPending(INDEX_URL, 'NativeParker');
  });
});

describe('parked rings woken across threads and processes', () => {
  const PARK: WaitPolicy = { mode: 'park' };
  const WAIT_MS = 20_000;
  const CAPACITY = 16 * 1024;
  const kinds: Array<[string, (region: SharedRegion, options: Parameters<typeof startThreadPeer>[1]) => PeerHandle]> = [
    ['a native producer thread', startThreadPeer],
    ['a native producer process', startProcessPeer],
  ];

  for (const [kind, start] of kinds) {
    test(`a JS consumer parked on a ring is woken by ${kind}`, BOUND, async () => {
      using region = SharedRegion.create({ size: 65536 });
      const ring = region.createRing(CAPACITY, { waitPolicy: PARK });
      // Park first, with nothing published: only the peer's wake can end this wait.
      const first = ring.readable({ timeout: WAIT_MS });
      await new Promise((r) => setTimeout(r, 20));
      const count = 20_000;
      // batch 1: every record is published (and, when the consumer is parked, woken) on its own.
      const peer = start(region, { mode: 'produce', output: 0, count, maxLength: 64, batch: 1, waitPolicy: PARK, idleTimeoutMs: WAIT_MS });
      assert.equal(await first, true);
      assert.equal(await consumeStressRecords(ring, WAIT_MS), count);
      const result = await peer.done;
      assert.equal(result.ok, true, result.error ?? '');
    });
  }

  for (const [kind, start] of [['thread', startThreadPeer], ['process', startProcessPeer]] as const) {
    test(`a native consumer ${kind} parked on a ring is woken by each JS write`, BOUND, async () => {
      using region = SharedRegion.create({ size: 65536 });
      const ring = region.createRing(CAPACITY, { waitPolicy: PARK });
      const count = 200;
      const peer = start(region, { mode: 'verify', input: 0, count, waitPolicy: PARK, idleTimeoutMs: WAIT_MS });
      const payload = new Uint8Array(32);
      for (let seq = 0; seq < count; seq++) {
        await new Promise((r) => setTimeout(r, 1)); // let the peer fall asleep between records
        fillStressPayload(payload, seq);
        assert.equal(ring.tryWrite(STRESS_TYPE, payload), true);
      }
      ring.closeProducer();
      const result = await peer.done;
      assert.equal(result.ok, true, result.error ?? '');
      assert.equal(result.records, count);
    });

    test(`2,000 round trips through an echo ${kind} with both sides parked lose no wake-up`, BOUND, async () => {
      using region = SharedRegion.create({ size: 65536 });
      const out = region.createRing(CAPACITY, { waitPolicy: PARK });
      const back = region.createRing(CAPACITY, { waitPolicy: PARK });
      const peer = start(region, { mode: 'echo', input: 0, output: 1, batch: 1, waitPolicy: PARK, idleTimeoutMs: WAIT_MS });
      const payload = new Uint8Array(16);
      for (let seq = 0; seq < 2000; seq++) {
        fillStressPayload(payload, seq);
        assert.equal(out.tryWrite(STRESS_TYPE, payload), true);
        assert.equal(await back.readable({ timeout: WAIT_MS }), true);
        const record = back.peek();
        assert.ok(record !== null);
        assert.equal(checkStressRecord(record.type, record.payload, seq), null);
        back.release();
      }
      out.closeProducer();
      assert.equal(await back.readable({ timeout: WAIT_MS }), false);
      const result = await peer.done;
      assert.equal(result.ok, true, result.error ?? '');
      assert.equal(result.records, 2000);
    });
  }
});
