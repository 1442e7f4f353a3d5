// Tests of Ring.salvage(), the producer's crash recovery: after the consumer has ended for good, the producer gets
// copies of the records it never released, validated as a consumer would read them, and the ring is left untouched.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ring, type RingRecord } from '../src/ring/ring.js';
import { RingError } from '../src/errors.js';
import {
  RECORD_TYPE_MAX_USER,
  RECORD_TYPE_PADDING,
  RING_DATA_OFFSET,
  RING_HEAD_OFFSET,
  RING_HEADER_SIZE,
  RING_MIN_CAPACITY,
  RING_TAIL_OFFSET,
  recordSize,
} from '../src/ring/layout.js';

const CAP = RING_MIN_CAPACITY;
/** Positions that cross 2^32 within a few records. */
const NEAR_WRAP = 2 ** 32 - 3 * CAP + 40;
/** Positions that cross 2^32, and the end of the data area, within two records. */
const NEAR_BOTH_WRAPS = 2 ** 32 - 200;

interface Setup {
  buffer: SharedArrayBuffer;
  producer: Ring;
  view: DataView;
  head: () => number;
  tail: () => number;
  setHead: (value: number) => void;
  /** Data index of position `p`. */
  index: (p: number) => number;
  /** Every byte of the ring segment, to check that salvage() changed nothing. */
  snapshot: () => Uint8Array;
}

function setup(initialPosition = 0): Setup {
  const buffer = new SharedArrayBuffer(Ring.segmentSize(CAP));
  const producer = Ring.create(buffer, { capacity: CAP, initialPosition, waitPolicy: { mode: 'spin' } });
  const view = new DataView(buffer);
  return {
    buffer,
    producer,
    view,
    head: () => view.getUint32(RING_HEAD_OFFSET, true),
    tail: () => view.getUint32(RING_TAIL_OFFSET, true),
    setHead: (value) => view.setUint32(RING_HEAD_OFFSET, value >>> 0, true),
    index: (p) => p & (CAP - 1),
    snapshot: () => new Uint8Array(buffer).slice(),
  };
}

function payload(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 7 + i * 31) & 0xff;
  return out;
}

function plain(records: RingRecord[]): Array<{ type: number; payload: number[] }> {
  return records.map((r) => ({ type: r.type, payload: [...r.payload] }));
}

/** A consumer in its own Ring object (as in the peer's process) that reads `count` records and then "dies". */
function consumeThenDie(buffer: SharedArrayBuffer, count: number): Array<{ type: number; payload: number[] }> {
  const consumer = Ring.attach(buffer);
  const seen: Array<{ type: number; payload: number[] }> = [];
  assert.equal(
    consumer.drain((type, bytes) => {
      seen.push({ type, payload: [...bytes] });
    }, count),
    count,
  );
  return seen;
}

function corrupt(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof RingError, `expected a RingError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_RING_CORRUPT');
    assert.match(e.message, /^salvage\(\) stopped after \d+ records?: the ring's shared memory is corrupt: .+\.$/);
    assert.match(e.message, pattern);
    return true;
  };
}

describe('Ring.salvage()', () => {
  test('returns copies of the records the consumer never released, oldest first, published and staged ones alike', () => {
    const s = setup();
    const written: Array<{ type: number; payload: number[] }> = [];
    for (let i = 0; i < 6; i++) {
      const bytes = payload(i * 5, i);
      assert.equal(s.producer.tryWrite(i + 1, bytes), true);
      written.push({ type: i + 1, payload: [...bytes] });
    }
    assert.deepEqual(consumeThenDie(s.buffer, 2), written.slice(0, 2));
    s.producer.stage(7, payload(3, 7)); // staged, never published
    written.push({ type: 7, payload: [...payload(3, 7)] });
    s.producer.claim(16); // an open claim is not a record
    const before = s.snapshot();

    const { records, error } = s.producer.salvage();
    assert.equal(error, undefined);
    assert.deepEqual(plain(records), written.slice(2));
    assert.deepEqual(s.snapshot(), before, 'no byte of the ring changed');
    for (const record of records) {
      assert.ok(record.payload instanceof Uint8Array);
      assert.notEqual(record.payload.buffer, s.buffer, 'a copy, not a view of the ring');
    }
    new Uint8Array(s.buffer, RING_HEADER_SIZE).fill(0xee);
    assert.deepEqual(plain(records), written.slice(2), 'the copies do not change with the ring');
  });

  test('leaves the ring usable: the producer and a new consumer go on as if it had not been called', () => {
    const s = setup();
    for (let i = 0; i < 3; i++) s.producer.tryWrite(1, payload(8, i));
    s.producer.stage(2, payload(4, 9));
    assert.equal(s.producer.salvage().records.length, 4);
    assert.equal(s.producer.salvage().records.length, 4, 'twice the same answer');
    s.producer.publish();
    const consumer = Ring.attach(s.buffer);
    const types: number[] = [];
    consumer.drain((type) => {
      types.push(type);
    });
    assert.deepEqual(types, [1, 1, 1, 2]);
    assert.deepEqual(s.producer.salvage(), { records: [], error: undefined });
  });

  test('on a wrapped ring it skips the padding record and returns the records across the end of the data area in order', () => {
    for (const start of [CAP - 200, NEAR_BOTH_WRAPS]) {
      const s = setup(start);
      const written: Array<{ type: number; payload: number[] }> = [];
      let paddingAt = -1;
      for (let i = 0; i < 12; i++) {
        const bytes = payload(60 + i, i);
        const before = s.index(s.tail());
        if (!s.producer.tryWrite(i, bytes)) break;
        if (before + recordSize(bytes.length) > CAP && paddingAt < 0) paddingAt = before;
        written.push({ type: i, payload: [...bytes] });
      }
      assert.ok(paddingAt >= 0, 'the records wrapped, with a padding record before the first one at index 0');
      assert.equal(s.view.getUint32(RING_DATA_OFFSET + paddingAt + 4, true), RECORD_TYPE_PADDING);
      const consumed = 1;
      consumeThenDie(s.buffer, consumed);
      assert.ok(s.index(s.head()) < paddingAt, 'the range to salvage spans the padding');
      const { records, error } = s.producer.salvage();
      assert.equal(error, undefined);
      assert.deepEqual(plain(records), written.slice(consumed));
    }
  });

  test('returns nothing and no error for an empty ring, and for one whose records were all released', () => {
    const s = setup(NEAR_WRAP);
    assert.deepEqual(s.producer.salvage(), { records: [], error: undefined });
    for (let i = 0; i < 4; i++) s.producer.tryWrite(1, payload(10, i));
    consumeThenDie(s.buffer, 4);
    assert.deepEqual(s.producer.salvage(), { records: [], error: undefined });
  });

  describe('a corrupt head', () => {
    function written(s: Setup): void {
      for (let i = 0; i < 5; i++) s.producer.tryWrite(1, payload(20, i));
    }

    test('an unaligned head gives no records and ERR_RING_CORRUPT naming it', () => {
      const s = setup();
      written(s);
      s.setHead(s.head() + 4);
      const { records, error } = s.producer.salvage();
      assert.deepEqual(records, []);
      assert.ok(corrupt(/head 4 is not a multiple of 8/)(error));
    });

    test('a head past the published tail gives no records and ERR_RING_CORRUPT', () => {
      const s = setup(NEAR_WRAP);
      written(s);
      s.setHead(s.tail() + 8);
      const { records, error } = s.producer.salvage();
      assert.deepEqual(records, []);
      assert.ok(corrupt(/head \d+ is outside \[\d+, tail \d+\]/)(error));
    });

    test('a head more than capacity behind the tail gives no records and ERR_RING_CORRUPT', () => {
      const s = setup(NEAR_WRAP);
      written(s);
      s.setHead(s.tail() - CAP - 8);
      const { records, error } = s.producer.salvage();
      assert.deepEqual(records, []);
      assert.ok(corrupt(/is outside/)(error));
    });

    test('a head moved back behind the head the producer validated gives no records and ERR_RING_CORRUPT', () => {
      const s = setup();
      while (s.producer.tryWrite(1, payload(100, 1)));
      const start = s.head();
      consumeThenDie(s.buffer, 3);
      assert.equal(s.producer.tryWrite(1, payload(100, 2)), true); // the producer saw (and validated) the new head
      s.setHead(start);
      const { records, error } = s.producer.salvage();
      assert.deepEqual(records, []);
      assert.ok(corrupt(/is outside/)(error));
    });

    test('salvage() does not mark the ring corrupt: with head repaired, writing goes on', () => {
      const s = setup();
      written(s);
      const head = s.head();
      s.setHead(head + 4);
      assert.ok(s.producer.salvage().error !== undefined);
      s.setHead(head);
      assert.equal(s.producer.tryWrite(2, payload(4, 4)), true);
      assert.equal(s.producer.salvage().records.length, 6);
    });
  });

  describe('a record header corrupted in the middle', () => {
    const cases: Array<[string, (s: Setup, at: number) => void, RegExp]> = [
      ['a reserved type', (s, at) => s.view.setUint32(RING_DATA_OFFSET + at + 4, RECORD_TYPE_MAX_USER + 1, true), /the record at \d+ has the invalid type 0x80000000/],
      ['a length above maxPayload', (s, at) => s.view.setUint32(RING_DATA_OFFSET + at, s.producer.maxPayload + 1, true), /has length \d+, more than maxPayload/],
      ['a length running past the tail', (s, at) => s.view.setUint32(RING_DATA_OFFSET + at, 400, true), /extends past the tail or the end of the data area/],
      ['a padding type where no padding can end', (s, at) => s.view.setUint32(RING_DATA_OFFSET + at + 4, RECORD_TYPE_PADDING, true), /a padding record at \d+ with length \d+ does not end exactly/],
    ];
    for (const [what, poke, message] of cases) {
      test(`${what}: the records before it come back, with ERR_RING_CORRUPT describing it`, () => {
        const s = setup();
        const positions: number[] = [];
        const written: Array<{ type: number; payload: number[] }> = [];
        for (let i = 0; i < 6; i++) {
          positions.push(s.tail());
          const bytes = payload(24, i);
          s.producer.tryWrite(i, bytes);
          written.push({ type: i, payload: [...bytes] });
        }
        consumeThenDie(s.buffer, 1);
        poke(s, s.index(positions[4]!));
        const before = s.snapshot();
        const { records, error } = s.producer.salvage();
        assert.deepEqual(plain(records), written.slice(1, 4));
        assert.ok(corrupt(message)(error));
        assert.match(error!.message, /^salvage\(\) stopped after 3 records/);
        assert.match(error!.message, new RegExp(`at ${positions[4]}`));
        assert.deepEqual(s.snapshot(), before);
      });
    }

    test('a padding record whose length was changed stops the salvage at the padding', () => {
      const s = setup(CAP - 200);
      for (let i = 0; i < 4; i++) s.producer.tryWrite(i, payload(60, i)); // the third record wraps
      const paddingIdx = CAP - 200 + 2 * recordSize(60);
      assert.equal(s.view.getUint32(RING_DATA_OFFSET + paddingIdx + 4, true), RECORD_TYPE_PADDING);
      s.view.setUint32(RING_DATA_OFFSET + paddingIdx, 8, true);
      const { records, error } = s.producer.salvage();
      assert.deepEqual(records.map((r) => r.type), [0, 1]);
      assert.ok(corrupt(/a padding record at \d+ with length 8/)(error));
    });
  });

  test('works after closeProducer(), after the consumer closed, and on a ring the producer found corrupt', async () => {
    const closed = setup();
    for (let i = 0; i < 3; i++) closed.producer.tryWrite(i, payload(9, i));
    closed.producer.stage(3, payload(9, 3));
    closed.producer.closeProducer(); // publishes the staged record
    Ring.attach(closed.buffer).closeConsumer();
    assert.deepEqual(closed.producer.salvage().records.map((r) => r.type), [0, 1, 2, 3]);

    const broken = setup();
    while (broken.producer.tryWrite(7, payload(100, 7)));
    const head = broken.head();
    broken.setHead(head + 4);
    assert.throws(() => broken.producer.tryWrite(7, payload(100, 7)), { code: 'ERR_RING_CORRUPT' });
    assert.throws(() => broken.producer.publish(), { code: 'ERR_RING_CORRUPT' }, 'the producer is broken for good');
    broken.setHead(head); // what the dead consumer last stored, read again by salvage()
    const { records, error } = broken.producer.salvage();
    assert.equal(error, undefined);
    assert.ok(records.length > 0 && records.every((r) => r.type === 7 && r.payload.length === 100));
  });

  test('returns exactly what a consumer reading the same bytes would deliver, stopping where it would stop', () => {
    // Random header pokes into a ring with published records: salvage() must agree with a fresh consumer's drain on
    // the records and on whether (not how) it stops early.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: CAP / 8 - 1 }).map((k) => k * 8),
        fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(
          fc.record({
            record: fc.nat(),
            word: fc.constantFrom(0, 1),
            value: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 600 }), fc.constant(RECORD_TYPE_PADDING)),
          }),
          { maxLength: 3 },
        ),
        (start, lengths, consumed, pokes) => {
          const s = setup(start);
          const positions: number[] = [];
          for (const [i, length] of lengths.entries()) {
            const p = s.tail();
            if (!s.producer.tryWrite(i, payload(length, i))) break;
            positions.push(p);
          }
          const read = Math.min(consumed, positions.length);
          if (read > 0) consumeThenDie(s.buffer, read);
          const left = positions.slice(read);
          for (const poke of pokes) {
            if (left.length === 0) break;
            const at = s.index(left[poke.record % left.length]!);
            s.view.setUint32(RING_DATA_OFFSET + at + 4 * poke.word, poke.value >>> 0, true);
          }
          // salvage() first: a consumer's drain stores head for the records it delivered before a fault.
          const { records, error } = s.producer.salvage();
          const expected: Array<{ type: number; payload: number[] }> = [];
          let consumerFailed = false;
          const consumer = Ring.attach(s.buffer);
          try {
            consumer.drain((type, bytes) => {
              expected.push({ type, payload: [...bytes] });
            });
          } catch (e) {
            assert.equal((e as RingError).code, 'ERR_RING_CORRUPT');
            consumerFailed = true;
          }
          assert.deepEqual(plain(records), expected);
          assert.equal(error !== undefined, consumerFailed);
        },
      ),
      { numRuns: 300 },
    );
  });
});
