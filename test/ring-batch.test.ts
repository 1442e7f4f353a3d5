// The batch write paths of the TypeScript Ring (stageMany, stageFrames, tryWriteMany): unit tests of their edges and a
// property comparing them with the same records staged one by one by stage().
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ring } from '../src/ring/ring.js';
import {
  RECORD_HEADER_SIZE,
  RECORD_TYPE_PADDING,
  RING_DATA_OFFSET,
  RING_HEAD_OFFSET,
  RING_MIN_CAPACITY,
  RING_TAIL_OFFSET,
  maxPayloadFor,
  recordSize,
} from '../src/ring/layout.js';

const U32 = 2 ** 32;

function makeRing(capacity = RING_MIN_CAPACITY, initialPosition = 0, maxPayload?: number): { ring: Ring; buffer: ArrayBuffer } {
  const buffer = new ArrayBuffer(Ring.segmentSize(capacity));
  const ring = Ring.create(buffer, { capacity, initialPosition, ...(maxPayload === undefined ? {} : { maxPayload }) });
  return { ring, buffer };
}

/** `count` packed records of `length` bytes; byte i of record k is (k * 31 + i * 7 + salt) & 0xFF. */
function packed(count: number, length: number, salt = 0, byteOffset = 0): Uint8Array {
  const raw = new Uint8Array(byteOffset + count * length);
  const view = raw.subarray(byteOffset);
  for (let k = 0; k < count; k++) for (let i = 0; i < length; i++) view[k * length + i] = (k * 31 + i * 7 + salt) & 0xff;
  return view;
}

/** The same records as frames (ring record layout), with garbage in every header slot and alignment gap. */
function framesOf(records: Uint8Array, count: number, length: number): Uint8Array {
  const size = recordSize(length);
  const frames = new Uint8Array(count * size).fill(0xee);
  for (let k = 0; k < count; k++) frames.set(records.subarray(k * length, (k + 1) * length), k * size + RECORD_HEADER_SIZE);
  return frames;
}

function drainAll(ring: Ring): Array<{ type: number; payload: number[] }> {
  const out: Array<{ type: number; payload: number[] }> = [];
  ring.drain((type, payload) => {
    out.push({ type, payload: [...payload] });
  });
  return out;
}

function expected(records: Uint8Array, count: number, length: number, type: number): Array<{ type: number; payload: number[] }> {
  return Array.from({ length: count }, (_, k) => ({ type, payload: [...records.subarray(k * length, (k + 1) * length)] }));
}

function tailOf(buffer: ArrayBuffer): number {
  return new DataView(buffer).getUint32(RING_TAIL_OFFSET, true);
}

describe('Ring.stageMany', () => {
  test('staged records stay invisible until publish() and then arrive in order', () => {
    const { ring, buffer } = makeRing();
    const records = packed(10, 32);
    const before = tailOf(buffer);
    assert.equal(ring.stageMany(7, records, 32), 10);
    assert.equal(tailOf(buffer), before);
    assert.equal(ring.peek(), null);
    ring.publish();
    assert.equal(tailOf(buffer), before + 10 * recordSize(32));
    assert.deepEqual(drainAll(ring), expected(records, 10, 32, 7));
  });

  test('a batch that reaches the end of the data area writes padding in its middle and continues at index 0', () => {
    const capacity = RING_MIN_CAPACITY;
    const size = recordSize(32);
    // Three records fit before the end, then 16 bytes remain: padding, and the rest of the batch starts at index 0.
    const initial = U32 - (3 * size + 16); // also wraps the u32 positions in the middle of the batch
    const { ring, buffer } = makeRing(capacity, initial);
    const records = packed(6, 32, 5);
    assert.equal(ring.stageMany(3, records, 32), 6);
    const headers = new DataView(buffer, RING_DATA_OFFSET, capacity);
    const padIdx = (initial + 3 * size) % capacity;
    assert.equal(headers.getUint32(padIdx + 4, true), RECORD_TYPE_PADDING);
    assert.equal(headers.getUint32(padIdx, true), capacity - padIdx - RECORD_HEADER_SIZE);
    assert.equal(headers.getUint32(0, true), 32); // the fourth record's header at index 0
    ring.publish();
    assert.equal(tailOf(buffer), (initial + 3 * size + 16 + 3 * size) % U32);
    assert.deepEqual(drainAll(ring), expected(records, 6, 32, 3));
  });

  test('a nearly full ring takes the records that fit, returns their count, and takes the rest after the consumer frees room', () => {
    const { ring } = makeRing();
    const size = recordSize(24);
    const fits = Math.floor(RING_MIN_CAPACITY / size);
    const records = packed(fits + 10, 24, 9);
    assert.equal(ring.stageMany(1, records, 24), fits);
    assert.equal(ring.stageMany(1, records.subarray(fits * 24), 24), 0);
    ring.publish();
    const first = drainAll(ring);
    assert.equal(first.length, fits);
    assert.equal(ring.tryWriteMany(1, records.subarray(fits * 24), 24), 10);
    assert.deepEqual([...first, ...drainAll(ring)], expected(records, fits + 10, 24, 1));
  });

  test('a zero count, or an empty source, stages nothing and returns 0', () => {
    const { ring, buffer } = makeRing();
    assert.equal(ring.stageMany(1, packed(4, 8), 8, 0), 0);
    assert.equal(ring.stageMany(1, new Uint8Array(0), 8), 0);
    assert.equal(ring.stageMany(1, new Uint8Array(0), 0, 0), 0);
    ring.publish();
    assert.equal(tailOf(buffer), 0);
    assert.equal(ring.peek(), null);
  });

  test('zero-length records need an explicit count and are staged as headers only', () => {
    const { ring } = makeRing();
    assert.throws(() => ring.stageMany(1, new Uint8Array(0), 0), { code: 'ERR_INVALID_ARG', message: /'count'/ });
    assert.equal(ring.tryWriteMany(4, new Uint8Array(0), 0, 5), 5);
    assert.deepEqual(drainAll(ring), Array.from({ length: 5 }, () => ({ type: 4, payload: [] })));
  });

  test('bad arguments are refused with an error naming the argument, and stage nothing', () => {
    const { ring, buffer } = makeRing();
    const records = packed(4, 8);
    const bad: Array<[() => unknown, string]> = [
      [() => ring.stageMany(-1, records, 8), 'type'],
      [() => ring.stageMany(0x80000000, records, 8), 'type'],
      [() => ring.stageMany(1, 'abc' as unknown as Uint8Array, 8), 'records'],
      [() => ring.stageMany(1, records, 1.5), 'recordLength'],
      [() => ring.stageMany(1, records, -8), 'recordLength'],
      [() => ring.stageMany(1, records, 8, 5), 'count'],
      [() => ring.stageMany(1, records, 8, -1), 'count'],
      [() => ring.stageMany(1, records, 8, 1.5), 'count'],
      [() => ring.stageFrames(1, 'abc' as unknown as Uint8Array, 8), 'frames'],
      [() => ring.stageFrames(1, records, 8, 3), 'count'], // 4 packed records of 8 B are 2 frames of 16 B
    ];
    for (const [call, name] of bad) {
      assert.throws(call, (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARG' && e.message.includes(`'${name}'`), name);
    }
    ring.publish();
    assert.equal(tailOf(buffer), 0);
  });

  test('a recordLength above maxPayload is ERR_RING_TOO_BIG', () => {
    const { ring } = makeRing(RING_MIN_CAPACITY, 0, 100);
    assert.throws(() => ring.stageMany(1, new Uint8Array(101), 101), { code: 'ERR_RING_TOO_BIG', message: /'recordLength'/ });
    assert.throws(() => ring.stageFrames(1, new Uint8Array(recordSize(101)), 101), { code: 'ERR_RING_TOO_BIG' });
    assert.equal(ring.stageMany(1, new Uint8Array(100), 100), 1);
  });

  test('misaligned sources and lengths that are not whole words give the same records', () => {
    for (const [length, byteOffset] of [[32, 1], [32, 2], [6, 0], [7, 3], [100, 1], [5, 4]] as const) {
      const { ring } = makeRing();
      const records = packed(5, length, length, byteOffset);
      assert.equal(records.byteOffset, byteOffset);
      assert.equal(ring.tryWriteMany(2, records, length), 5);
      assert.deepEqual(drainAll(ring), expected(records, 5, length, 2), `length ${length}, byteOffset ${byteOffset}`);
    }
  });

  test('the source may be any ArrayBufferView and count limits the records taken', () => {
    const { ring } = makeRing();
    const records = packed(6, 16, 3);
    const asWords = new Uint32Array(records.buffer, records.byteOffset, records.byteLength / 4);
    assert.equal(ring.tryWriteMany(9, asWords, 16, 4), 4);
    assert.deepEqual(drainAll(ring), expected(records, 4, 16, 9));
  });

  test('an open claim makes a batch ERR_INVALID_STATE; a closed producer makes it ERR_RING_CLOSED', () => {
    const { ring } = makeRing();
    assert.ok(ring.claim(8));
    assert.throws(() => ring.stageMany(1, packed(1, 8), 8), { code: 'ERR_INVALID_STATE' });
    assert.throws(() => ring.stageFrames(1, new Uint8Array(16), 8), { code: 'ERR_INVALID_STATE' });
    ring.abort();
    ring.closeProducer();
    assert.throws(() => ring.stageMany(1, packed(1, 8), 8), { code: 'ERR_RING_CLOSED' });
  });

  test('a full ring whose consumer has closed refuses a batch with ERR_RING_CLOSED, but a partial batch still returns its count', () => {
    const { ring } = makeRing();
    const size = recordSize(56);
    const fits = Math.floor(RING_MIN_CAPACITY / size);
    ring.closeConsumer();
    const records = packed(fits + 1, 56);
    assert.equal(ring.stageMany(1, records, 56), fits);
    assert.throws(() => ring.stageMany(1, records, 56, 1), { code: 'ERR_RING_CLOSED' });
  });

  test('a head that moved outside [head, tail] is ERR_RING_CORRUPT when the batch needs room', () => {
    const { ring, buffer } = makeRing();
    const size = recordSize(8);
    const fits = RING_MIN_CAPACITY / size;
    assert.equal(ring.tryWriteMany(1, packed(fits, 8), 8), fits);
    new DataView(buffer).setUint32(RING_HEAD_OFFSET, RING_MIN_CAPACITY + 64, true); // past the published tail
    assert.throws(() => ring.stageMany(1, packed(1, 8), 8), { code: 'ERR_RING_CORRUPT' });
  });
});

describe('Ring.stageFrames', () => {
  test('frames are copied per run, every header comes from the arguments, and padding splits the batch', () => {
    const size = recordSize(20); // 28 → 32: 4 alignment bytes per frame
    const initial = U32 - (2 * size + 8);
    const { ring, buffer } = makeRing(RING_MIN_CAPACITY, initial);
    const records = packed(5, 20, 1);
    assert.equal(ring.stageFrames(6, framesOf(records, 5, 20), 20), 5);
    const padIdx = (initial + 2 * size) % RING_MIN_CAPACITY;
    assert.equal(new DataView(buffer, RING_DATA_OFFSET).getUint32(padIdx + 4, true), RECORD_TYPE_PADDING);
    ring.publish();
    assert.deepEqual(drainAll(ring), expected(records, 5, 20, 6));
  });

  test('a full ring takes the frames that fit', () => {
    const { ring } = makeRing();
    const size = recordSize(32);
    const fits = Math.floor(RING_MIN_CAPACITY / size);
    const records = packed(fits + 3, 32, 2);
    assert.equal(ring.stageFrames(1, framesOf(records, fits + 3, 32), 32), fits);
    ring.publish();
    assert.deepEqual(drainAll(ring), expected(records, fits, 32, 1));
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Property: a batch leaves the ring's bytes exactly as stage() one record at a time does.

type Op =
  | { kind: 'batch'; via: 'many' | 'frames'; type: number; length: number; count: number; offset: number; salt: number }
  | { kind: 'publish' }
  | { kind: 'drain'; limit: number };

const opArb = (maxPayload: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('batch' as const),
        via: fc.constantFrom('many' as const, 'frames' as const),
        type: fc.integer({ min: 0, max: 0x7fffffff }),
        length: fc.oneof(fc.integer({ min: 0, max: Math.min(64, maxPayload) }), fc.integer({ min: 0, max: maxPayload })),
        count: fc.integer({ min: 0, max: 40 }),
        offset: fc.integer({ min: 0, max: 3 }),
        salt: fc.integer({ min: 0, max: 255 }),
      }),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'publish' as const }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('drain' as const), limit: fc.integer({ min: 1, max: 60 }) }) },
  );

const scenarioArb = fc
  .record({
    capacityLog: fc.integer({ min: 10, max: 13 }),
    initialBack: fc.integer({ min: 0, max: 2048 }),
    payloadFraction: fc.double({ min: 0.02, max: 1, noNaN: true }),
  })
  .chain(({ capacityLog, initialBack, payloadFraction }) => {
    const capacity = 2 ** capacityLog;
    const maxPayload = Math.max(1, Math.floor(maxPayloadFor(capacity) * payloadFraction));
    const initialPosition = (U32 - initialBack * 8) % U32; // near the u32 wrap
    return fc.record({
      capacity: fc.constant(capacity),
      maxPayload: fc.constant(maxPayload),
      initialPosition: fc.constant(initialPosition),
      ops: fc.array(opArb(maxPayload), { minLength: 1, maxLength: 40 }),
    });
  });

test('stageMany and stageFrames leave byte-identical ring images to the same records staged one by one with stage()', () => {
  fc.assert(
    fc.property(scenarioArb, ({ capacity, maxPayload, initialPosition, ops }) => {
      const a = makeRing(capacity, initialPosition, maxPayload);
      const b = makeRing(capacity, initialPosition, maxPayload);
      const imageA = new Uint8Array(a.buffer);
      const imageB = new Uint8Array(b.buffer);
      for (const op of ops) {
        if (op.kind === 'publish') {
          a.ring.publish();
          b.ring.publish();
        } else if (op.kind === 'drain') {
          assert.deepEqual(a.ring.drain(() => undefined, op.limit), b.ring.drain(() => undefined, op.limit));
        } else {
          // Frames copy their alignment bytes, which stage() leaves alone: whole-word lengths keep the images comparable.
          const length = op.via === 'frames' ? op.length & ~7 : op.length;
          const records = packed(op.count, length, op.salt, op.offset);
          const gotA =
            op.via === 'many'
              ? a.ring.stageMany(op.type, records, length, op.count)
              : a.ring.stageFrames(op.type, framesOf(records, op.count, length), length, op.count);
          let gotB = 0;
          while (gotB < op.count && b.ring.stage(op.type, records.subarray(gotB * length, (gotB + 1) * length))) gotB++;
          assert.equal(gotA, gotB);
        }
        assert.deepEqual(imageA, imageB);
      }
    }),
    { numRuns: 300 },
  );
});
