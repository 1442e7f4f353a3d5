// Regression tests of a Ring's memory lifetime: what happens to a Ring, and to the waits pending on it, when its
// SharedRegion is closed (src/ring/lifetime.ts); payloads whose buffer is detached; the argument checks of the
// parkers' wait() and of the Ring's wait options.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  EventfdParker,
  NativeParker,
  RegionError,
  Ring,
  RingError,
  SharedRegion,
  type Parker,
  type ParkResult,
  type WaitPolicy,
} from '../src/index.js';
import { RING_TAIL_OFFSET } from '../src/ring/layout.js';
import { loadAddon, type FutexWaitResult } from '../src/native/addon.js';
import { PollingParker } from './helpers/fake-parker.js';
import { runNode } from './helpers/run-node.js';

/** A wait that never settles fails the test after this instead of hanging the run. */
const BOUND = { timeout: 15_000 };
/** Tests that run a child Node process, which runNode() kills after 30 s. */
const CHILD_BOUND = { timeout: 60_000 };
const CAP = 1024;
const REGION_SIZE = 64 * 1024;
const INDEX_URL = new URL('../src/index.js', import.meta.url).href;
const PARK: WaitPolicy = { mode: 'park' };

type Maker = (region: SharedRegion, options: { parker?: Parker; waitPolicy?: WaitPolicy }) => Ring;

/** The three ways to get a Ring over a region's memory; only the first goes through the region's own helpers. */
const MAKERS: Array<[string, Maker]> = [
  ['made by region.createRing()', (region, options) => region.createRing(CAP, options)],
  [
    'made by Ring.create(region.buffer, …)',
    (region, options) => {
      const segment = region.addSegment(1, Ring.segmentSize(CAP));
      return Ring.create(region.buffer, { ...options, capacity: CAP, byteOffset: segment.offset });
    },
  ],
  [
    'attached by Ring.attach(region.buffer, …)',
    (region, options) => {
      const segment = region.addSegment(1, Ring.segmentSize(CAP));
      Ring.create(region.buffer, { capacity: CAP, byteOffset: segment.offset });
      return Ring.attach(region.buffer, { ...options, byteOffset: segment.offset });
    },
  ],
];

/** A Parker that breaks the contract: it ignores its signal and never settles. The Ring must settle anyway. */
const deafParker: Parker = {
  wait: () => new Promise<ParkResult>(() => {}),
  wake: () => {},
  close: () => {},
};

/** The parkers a wait may sleep in, made fresh per test (closed by it). */
const PARKERS: Array<[string, () => Parker]> = [
  ['the default NativeParker', () => new NativeParker()],
  ['an EventfdParker', () => new EventfdParker()],
  ['a test parker that honours its signal', () => new PollingParker(5)],
  ['a parker that ignores its signal', () => deafParker],
];

function regionClosed(e: unknown): boolean {
  assert.ok(e instanceof RingError, `expected a RingError, got ${String(e)}`);
  assert.equal(e.code, 'ERR_REGION_CLOSED');
  assert.match(e.message, /^The ring's shared region was closed and its memory unmapped; .+\.$/);
  return true;
}

function invalidArg(name: string, detail?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.equal((e as { code?: unknown }).code, 'ERR_INVALID_ARG', `expected ERR_INVALID_ARG, got ${String(e)}`);
    assert.ok(!(e instanceof TypeError), 'not a TypeError');
    assert.match((e as Error).message, new RegExp(`'${name.replace('.', '\\.')}'`));
    if (detail !== undefined) assert.match((e as Error).message, detail);
    return true;
  };
}

function fill(ring: Ring): number {
  let n = 0;
  while (ring.tryWrite(1, new Uint8Array(100))) n++;
  return n;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Views of several kinds into one ArrayBuffer that is then transferred away (detached). */
function detachedViews(): { bytes: Uint8Array; doubles: Float64Array; data: DataView; words: Int32Array } {
  const buffer = new ArrayBuffer(64);
  const views = { bytes: new Uint8Array(buffer, 8, 8), doubles: new Float64Array(buffer, 16, 2), data: new DataView(buffer, 0, 8), words: new Int32Array(buffer) };
  structuredClone(buffer, { transfer: [buffer] });
  assert.equal(views.bytes.byteLength, 0);
  return views;
}

function detachedView(): Uint8Array {
  return detachedViews().bytes;
}

/** How many mappings of this process show the shm object `name` (a named region's mapping is recognisable by it). */
function countMappingsOf(name: string): number {
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.includes(`/dev/shm${name}`)).length;
}

describe('a wait pending on a ring when its region closes', () => {
  for (const [how, make] of MAKERS) {
    for (const [parkerName, makeParker] of PARKERS) {
      test(`readable() without a timeout on a ring ${how}, parked in ${parkerName}, rejects with ERR_REGION_CLOSED`, BOUND, async () => {
        const parker = makeParker();
        const region = SharedRegion.create({ size: REGION_SIZE });
        const ring = make(region, { parker, waitPolicy: PARK });
        const pending = ring.readable();
        await delay(20);
        region.close();
        await assert.rejects(pending, regionClosed);
        parker.close();
      });
    }

    test(`write() waiting for space on a ring ${how} rejects with ERR_REGION_CLOSED and writes nothing`, BOUND, async () => {
      const region = SharedRegion.create({ size: REGION_SIZE });
      const ring = make(region, { waitPolicy: PARK });
      fill(ring);
      const pending = ring.write(2, new Uint8Array(100));
      await delay(20);
      region.close();
      await assert.rejects(pending, regionClosed);
    });
  }

  for (const mode of ['spin', 'spin-then-park'] as const) {
    test(`readable() and write() in '${mode}' mode reject with ERR_REGION_CLOSED`, BOUND, async () => {
      const region = SharedRegion.create({ size: REGION_SIZE });
      const consumer = region.createRing(CAP, { waitPolicy: { mode } });
      const producer = region.createRing(CAP, { waitPolicy: { mode } });
      fill(producer);
      const reading = consumer.readable();
      const writing = producer.write(1, new Uint8Array(100));
      await delay(20);
      region.close();
      await assert.rejects(reading, regionClosed);
      await assert.rejects(writing, regionClosed);
    });
  }

  test('a dozen readable() calls, with and without a signal, and a write() pending on one Ring object all reject', BOUND, async () => {
    const region = SharedRegion.create({ size: REGION_SIZE });
    const ring = region.createRing(CAP, { waitPolicy: PARK });
    const abort = new AbortController();
    const readers = Array.from({ length: 12 }, (_, i) => ring.readable(i % 2 === 0 ? {} : { signal: abort.signal }));
    const full = region.createRing(CAP, { waitPolicy: PARK });
    fill(full);
    const writer = full.write(1, new Uint8Array(100), { signal: abort.signal });
    await delay(20);
    region.close();
    for (const reader of readers) await assert.rejects(reader, regionClosed);
    await assert.rejects(writer, regionClosed);
    assert.equal(abort.signal.aborted, false, "the caller's signal is not aborted by the region's close");
  });

  test('an AbortSignal still aborts a parked wait with ERR_ABORTED, and the region then closes cleanly', BOUND, async () => {
    const region = SharedRegion.create({ size: REGION_SIZE });
    const ring = region.createRing(CAP, { waitPolicy: PARK });
    const abort = new AbortController();
    const pending = ring.readable({ signal: abort.signal });
    await delay(20);
    abort.abort(new Error('stop'));
    await assert.rejects(pending, { name: 'RingError', code: 'ERR_ABORTED' });
    // The same (aborted) signal again: refused at once; a wait without a signal still parks and is released.
    await assert.rejects(ring.readable({ signal: abort.signal }), { code: 'ERR_ABORTED' });
    const second = ring.readable();
    await delay(20);
    region.close();
    await assert.rejects(second, regionClosed);
  });

  test('the native waiter is cancelled while the memory is still mapped, and the mapping goes once it has let go', BOUND, async () => {
    const inner = new NativeParker();
    const mappedAtAbort: boolean[] = [];
    const spy: Parker = {
      wake: (view, index) => inner.wake(view, index),
      close: () => inner.close(),
      wait: (view, index, expected, timeoutMs, signal) => {
        assert.ok(signal instanceof AbortSignal, 'a Ring always hands the parker a signal');
        signal.addEventListener('abort', () => mappedAtAbort.push(view.length > 0 && Atomics.load(view, 0) !== 0), { once: true });
        return inner.wait(view, index, expected, timeoutMs, signal);
      },
    };
    // A named region: its mapping is told apart from those other tests leave for their waiters to release.
    const region = SharedRegion.create({ size: REGION_SIZE, name: true });
    const name = region.name!;
    region.unlink();
    const ring = region.createRing(CAP, { parker: spy, waitPolicy: PARK });
    assert.equal(countMappingsOf(name), 1);
    const pending = ring.readable();
    await delay(20);
    region.close();
    // The magic word at offset 0 could still be read when the abort ran: the memory was mapped then.
    assert.deepEqual(mappedAtAbort, [true]);
    await assert.rejects(pending, regionClosed);
    for (let i = 0; i < 200 && countMappingsOf(name) > 0; i++) await delay(10);
    assert.equal(countMappingsOf(name), 0, 'the waiter released its pin: the region is unmapped');
    inner.close();
  });

  test('a native futex wait on a word of a region keeps the mapping past close() until the waiter has left the kernel', BOUND, async () => {
    const region = SharedRegion.create({ size: REGION_SIZE, name: true });
    const name = region.name!;
    region.unlink();
    const waiter = new (loadAddon().FutexWaiter)();
    const words = new Int32Array(region.buffer, 256, 1);
    const result = new Promise<FutexWaitResult>((resolve) => waiter.wait(words, 0, 0, -1, resolve));
    await delay(20);
    region.close(); // without cancelling the wait first: the pin alone keeps the memory mapped
    try {
      assert.equal(countMappingsOf(name), 1, 'still mapped while the waiter sleeps on it');
    } finally {
      waiter.cancel(); // a wait left pending would keep this test process alive
    }
    assert.equal(await result, 'cancelled');
    for (let i = 0; i < 200 && countMappingsOf(name) > 0; i++) await delay(10);
    assert.equal(countMappingsOf(name), 0, 'unmapped by the unpin once the waiter left');
    waiter.close();
  });

  test('a process whose only pending work is a readable() and a write() on rings of a region exits once the region closes', CHILD_BOUND, () => {
    const r = runNode(
      `import { SharedRegion, Ring } from ${JSON.stringify(INDEX_URL)};
       const region = SharedRegion.create({ size: 65536 });
       const consumer = region.createRing(1024);
       const segment = region.addSegment(1, Ring.segmentSize(1024));
       const producer = Ring.create(region.buffer, { capacity: 1024, byteOffset: segment.offset });
       while (producer.tryWrite(1, new Uint8Array(100)));
       consumer.readable().then(() => console.log('resolved'), (e) => console.log(e.code));
       producer.write(1, new Uint8Array(100)).then(() => console.log('written'), (e) => console.log(e.code));
       setTimeout(() => region.close(), 50);`,
    );
    assert.equal(r.signal, null, `the child hung (killed by ${r.signal}): ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['ERR_REGION_CLOSED', 'ERR_REGION_CLOSED']);
  });
});

describe('Ring calls after its region was closed', () => {
  for (const [how, make] of MAKERS) {
    test(`every method of a ring ${how} throws RingError ERR_REGION_CLOSED, the async ones reject with it`, BOUND, async () => {
      const region = SharedRegion.create({ size: REGION_SIZE });
      const ring = make(region, {});
      ring.tryWrite(1, new Uint8Array([1, 2, 3]));
      ring.stage(2, new Uint8Array(4));
      ring.peek();
      ring.claim(16);
      region.close();
      const payload = new Uint8Array(8);
      const sync: Array<[string, () => unknown]> = [
        ['tryWrite', () => ring.tryWrite(1, payload)],
        ['stage', () => ring.stage(1, payload)],
        ['stageMany', () => ring.stageMany(1, payload, 4)],
        ['stageFrames', () => ring.stageFrames(1, new Uint8Array(16), 8)],
        ['tryWriteMany', () => ring.tryWriteMany(1, payload, 4)],
        ['publish', () => ring.publish()],
        ['claim', () => ring.claim(8)],
        ['commit', () => ring.commit(1)],
        ['abort', () => ring.abort()],
        ['peek', () => ring.peek()],
        ['release', () => ring.release()],
        ['drain', () => ring.drain(() => {})],
        ['salvage', () => ring.salvage()],
        ['closeProducer', () => ring.closeProducer()],
        ['closeConsumer', () => ring.closeConsumer()],
      ];
      for (const [name, call] of sync) assert.throws(call, regionClosed, name);
      await assert.rejects(ring.write(1, payload), regionClosed);
      await assert.rejects(ring.readable(), regionClosed);
      await assert.rejects(ring.readable({ timeout: 0 }), regionClosed);
      await assert.rejects(ring[Symbol.asyncIterator]().next(), regionClosed);
      // Still readable: what the Ring validated when it was made.
      assert.equal(ring.capacity, CAP);
    });
  }

  test('closeProducer() and closeConsumer() of sides closed before the region stay no-ops, and region.close() is idempotent', () => {
    const region = SharedRegion.create({ size: REGION_SIZE });
    const ring = region.createRing(CAP);
    ring.closeProducer();
    ring.closeConsumer();
    region.close();
    ring.closeProducer();
    ring.closeConsumer();
    region.close();
    assert.equal(region.closed, true);
    assert.throws(() => ring.tryWrite(1, new Uint8Array(1)), regionClosed, 'the memory is the first reason given');
  });

  test('the region refuses every use after close() with RegionError ERR_REGION_CLOSED', () => {
    const region = SharedRegion.create({ size: REGION_SIZE });
    region.createRing(CAP);
    region.close();
    const closed = (e: unknown): boolean => {
      assert.ok(e instanceof RegionError, `expected a RegionError, got ${String(e)}`);
      assert.equal(e.code, 'ERR_REGION_CLOSED');
      assert.match(e.message, /^The region was closed; .+\.$/);
      return true;
    };
    assert.throws(() => region.buffer, closed);
    assert.throws(() => region.fd, closed);
    assert.throws(() => region.segments, closed);
    assert.throws(() => region.addSegment(1, 1024), closed);
    assert.throws(() => region.createRing(CAP), closed);
    assert.throws(() => region.ring(0), closed);
    assert.equal(region.size, REGION_SIZE);
  });

  test('Ring.create and Ring.attach on the buffer of a closed region throw RingError ERR_REGION_CLOSED', () => {
    const region = SharedRegion.create({ size: REGION_SIZE });
    const segment = region.addSegment(1, Ring.segmentSize(CAP));
    const buffer = region.buffer;
    Ring.create(buffer, { capacity: CAP, byteOffset: segment.offset });
    region.close();
    const closed = (e: unknown): boolean => {
      assert.ok(e instanceof RingError, `expected a RingError, got ${String(e)}`);
      assert.equal(e.code, 'ERR_REGION_CLOSED');
      assert.match(e.message, /'buffer'/);
      return true;
    };
    assert.throws(() => Ring.attach(buffer, { byteOffset: segment.offset }), closed);
    assert.throws(() => Ring.create(buffer, { capacity: CAP, byteOffset: segment.offset }), closed);
  });

  test('a drain() handler that closes the region ends the drain with ERR_REGION_CLOSED', () => {
    const region = SharedRegion.create({ size: REGION_SIZE });
    const ring = region.createRing(CAP);
    for (let i = 0; i < 3; i++) ring.tryWrite(1, new Uint8Array([i]));
    let calls = 0;
    assert.throws(
      () =>
        ring.drain(() => {
          calls++;
          region.close();
        }),
      regionClosed,
    );
    assert.equal(calls, 1);
    assert.throws(() => ring.peek(), regionClosed);
  });

  test('closing one region leaves rings over other memory alone', () => {
    const region = SharedRegion.create({ size: REGION_SIZE });
    region.createRing(CAP);
    const other = SharedRegion.create({ size: REGION_SIZE });
    const inOther = other.createRing(CAP);
    const plain = Ring.create(new ArrayBuffer(Ring.segmentSize(CAP)), { capacity: CAP });
    region.close();
    assert.equal(inOther.tryWrite(1, new Uint8Array([7])), true);
    assert.equal(plain.tryWrite(1, new Uint8Array([8])), true);
    assert.deepEqual([...inOther.peek()!.payload], [7]);
    assert.deepEqual([...plain.peek()!.payload], [8]);
    other.close();
  });
});

describe('payloads whose buffer is detached', () => {
  function ring(): { ring: Ring; tail: () => number } {
    const buffer = new ArrayBuffer(Ring.segmentSize(CAP));
    const words = new Int32Array(buffer);
    return { ring: Ring.create(buffer, { capacity: CAP }), tail: () => Atomics.load(words, RING_TAIL_OFFSET / 4) };
  }

  test('tryWrite, stage, stageMany, stageFrames and tryWriteMany refuse them with ERR_INVALID_ARG naming the argument and write nothing', () => {
    const { ring: r, tail } = ring();
    const { bytes, doubles, data } = detachedViews();
    for (const view of [bytes, doubles, data] as ArrayBufferView[]) {
      const detached = /its buffer is detached/;
      assert.throws(() => r.tryWrite(1, view), invalidArg('payload', detached));
      assert.throws(() => r.stage(1, view), invalidArg('payload', detached));
      assert.throws(() => r.stageMany(1, view, 4, 0), invalidArg('records', detached));
      assert.throws(() => r.stageMany(1, view, 4), invalidArg('records', detached));
      assert.throws(() => r.tryWriteMany(1, view, 4), invalidArg('records', detached));
      assert.throws(() => r.stageFrames(1, view, 8), invalidArg('frames', detached));
    }
    r.publish();
    assert.equal(tail(), 0, 'nothing was staged');
    assert.equal(r.peek(), null);
    const slot = r.claim(8);
    assert.ok(slot !== null, 'no claim was left open');
    r.abort();
  });

  test('write() refuses a detached payload with ERR_INVALID_ARG, and one detached while it waits for room', BOUND, async () => {
    const { ring: r, tail } = ring();
    await assert.rejects(r.write(1, detachedView()), invalidArg('payload', /its buffer is detached/));
    const written = fill(r);
    const before = tail();
    const buffer = new ArrayBuffer(100);
    const pending = r.write(1, new Uint8Array(buffer), { timeout: 5_000 });
    structuredClone(buffer, { transfer: [buffer] });
    await assert.rejects(pending, invalidArg('payload', /was detached while write\(\) waited/));
    assert.equal(tail(), before, 'nothing was written');
    assert.equal(r.drain(() => {}), written);
  });

  test('empty payloads that are not detached are still written', () => {
    const { ring: r } = ring();
    assert.equal(r.tryWrite(1, new Uint8Array(0)), true);
    assert.equal(r.tryWrite(2, new Uint8Array(new SharedArrayBuffer(8), 8, 0)), true);
    assert.equal(r.tryWrite(3, new DataView(new ArrayBuffer(0))), true);
    assert.equal(r.stageMany(4, new Uint8Array(0), 0, 2), 2);
    r.publish();
    const seen: number[] = [];
    r.drain((type, payload) => {
      assert.equal(payload.length, 0);
      seen.push(type);
    });
    assert.deepEqual(seen, [1, 2, 3, 4, 4]);
  });

  test('Ring.create and Ring.attach refuse a detached buffer with ERR_INVALID_ARG naming it', () => {
    const buffer = new ArrayBuffer(Ring.segmentSize(CAP));
    Ring.create(buffer, { capacity: CAP });
    structuredClone(buffer, { transfer: [buffer] });
    assert.throws(() => Ring.attach(buffer), invalidArg('buffer', /its buffer is detached/));
    assert.throws(() => Ring.create(buffer, { capacity: CAP }), invalidArg('buffer', /its buffer is detached/));
  });
});

describe('wait arguments', () => {
  const notSignals: unknown[] = [{}, null, 1, { aborted: false, addEventListener() {}, removeEventListener() {} }];

  for (const [name, make] of [
    ['NativeParker', () => new NativeParker()],
    ['EventfdParker', () => new EventfdParker()],
  ] as Array<[string, () => Parker]>) {
    test(`${name}.wait rejects bad views, indexes, expected values, timeouts and signals with ERR_INVALID_ARG naming them`, BOUND, async () => {
      const parker = make();
      const view = new Int32Array(new SharedArrayBuffer(8));
      const empty = detachedViews().words;
      const bad: Array<[string, () => Promise<ParkResult>]> = [
        ['view', () => parker.wait(new Uint32Array(2) as never, 0, 0, 10)],
        ['view', () => parker.wait(empty, 0, 0, 10)],
        ['index', () => parker.wait(view, 2, 0, 10)],
        ['index', () => parker.wait(view, -1, 0, 10)],
        ['expected', () => parker.wait(view, 0, 0.5, 10)],
        ['expected', () => parker.wait(view, 0, 2 ** 32, 10)],
        ['timeoutMs', () => parker.wait(view, 0, 0, Number.NaN)],
        ['timeoutMs', () => parker.wait(view, 0, 0, '10' as never)],
        ...notSignals.map((s): [string, () => Promise<ParkResult>] => ['signal', () => parker.wait(view, 0, 0, 10, s as never)]),
      ];
      for (const [argument, call] of bad) await assert.rejects(call(), invalidArg(argument));
      // A refused wait leaves the parker usable.
      assert.equal(await parker.wait(view, 0, 0, 10, new AbortController().signal), 'timed-out');
      parker.close();
    });
  }

  test('a signal that is not an AbortSignal never reaches a native callback: no uncaught exception', CHILD_BOUND, () => {
    const r = runNode(
      `import { NativeParker, EventfdParker } from ${JSON.stringify(INDEX_URL)};
       const view = new Int32Array(new SharedArrayBuffer(4));
       for (const parker of [new NativeParker(), new EventfdParker()]) {
         try { console.log(await parker.wait(view, 0, 0, 20, {})); } catch (e) { console.log(e.code); }
         await new Promise((r) => setTimeout(r, 100)); // time for a native wait, had one started, to call back
         parker.close();
       }`,
    );
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Uncaught|TypeError/);
    assert.deepEqual(r.stdout.trim().split('\n'), ['ERR_INVALID_ARG', 'ERR_INVALID_ARG']);
  });

  test('Ring waits reject a bad options.signal or options.timeout with ERR_INVALID_ARG naming it', BOUND, async () => {
    const buffer = new ArrayBuffer(Ring.segmentSize(CAP));
    const r = Ring.create(buffer, { capacity: CAP, waitPolicy: PARK });
    for (const signal of notSignals) {
      await assert.rejects(r.readable({ signal } as never), invalidArg('options.signal'));
      await assert.rejects(r.write(1, new Uint8Array(1), { signal } as never), invalidArg('options.signal'));
    }
    for (const timeout of [-1, Number.NaN, '5', null, -Infinity]) {
      await assert.rejects(r.readable({ timeout } as never), invalidArg('options.timeout'));
      await assert.rejects(r.write(1, new Uint8Array(1), { timeout } as never), invalidArg('options.timeout'));
    }
    await assert.rejects(r.readable(null as never), invalidArg('options'));
    assert.equal(r.peek(), null, 'no write went through');
    await assert.rejects(r.readable({ timeout: 0 }), { code: 'ERR_TIMEOUT' });
    await assert.rejects(r.readable({ timeout: 1, signal: new AbortController().signal }), { code: 'ERR_TIMEOUT' });
  });
});
