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

function countRegionMappings(): number {
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.includes('memfd:native-sidecar')).length;
}

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
