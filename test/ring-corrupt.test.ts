// Corruption tests of the TypeScript Ring: whatever a buggy or hostile peer writes into the shared memory, the Ring
// reports RingError ERR_RING_CORRUPT (and stays broken) — never a RangeError, an out-of-bounds view, or a hang.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ring } from '../src/ring/ring.js';
import { RingError } from '../src/errors.js';
import {
  BLOCK_SIZE,
  RECORD_HEADER_SIZE,
  RECORD_TYPE_MAX_USER,
  RECORD_TYPE_PADDING,
  RING_CLOSED_OFFSET,
  RING_CONSUMER_PARKED_OFFSET,
  RING_DATA_OFFSET,
  RING_DATA_SEQ_OFFSET,
  RING_PRODUCER_PARKED_OFFSET,
  RING_SPACE_SEQ_OFFSET,
  RING_HEAD_OFFSET,
  RING_HEADER_SIZE,
  RING_MIN_CAPACITY,
  RING_TAIL_OFFSET,
  recordSize,
} from '../src/ring/layout.js';
import { PollingParker } from './helpers/fake-parker.js';

const CAP = RING_MIN_CAPACITY;
const RING_HEADER_PARKED_CONSUMER = RING_CONSUMER_PARKED_OFFSET;
const RING_HEADER_PARKED_PRODUCER = RING_PRODUCER_PARKED_OFFSET;
const RING_HEADER_DATA_SEQ = RING_DATA_SEQ_OFFSET;
const RING_HEADER_SPACE_SEQ = RING_SPACE_SEQ_OFFSET;

function setup(initialPosition = 0, capacity = CAP) {
  const buffer = new ArrayBuffer(Ring.segmentSize(capacity));
  const ring = Ring.create(buffer, { capacity, initialPosition, parker: new PollingParker() });
  const view = new DataView(buffer);
  return {
    buffer,
    ring,
    view,
    tail: () => view.getUint32(RING_TAIL_OFFSET, true),
    head: () => view.getUint32(RING_HEAD_OFFSET, true),
    setTail: (v: number) => view.setUint32(RING_TAIL_OFFSET, v >>> 0, true),
    setHead: (v: number) => view.setUint32(RING_HEAD_OFFSET, v >>> 0, true),
    /** Writes a record header at data index `idx`. */
    header: (idx: number, length: number, type: number) => {
      view.setUint32(RING_DATA_OFFSET + idx, length >>> 0, true);
      view.setUint32(RING_DATA_OFFSET + idx + 4, type >>> 0, true);
    },
  };
}

function isCorrupt(e: unknown): boolean {
  assert.ok(e instanceof RingError, `expected a RingError, got ${String(e)}`);
  assert.equal(e.code, 'ERR_RING_CORRUPT', String(e));
  return true;
}

/** Asserts that every consumer entry point of `ring` reports corruption. */
async function assertConsumerCorrupt(ring: Ring): Promise<void> {
  assert.throws(() => ring.peek(), isCorrupt);
  assert.throws(() => ring.drain(() => undefined), isCorrupt);
  await assert.rejects(ring.readable({ timeout: 0 }), isCorrupt);
}

describe('a corrupt tail is rejected by the consumer', () => {
  test('an unaligned tail is ERR_RING_CORRUPT, and the ring stays broken for both sides', async () => {
    const s = setup();
    s.setTail(s.head() + 4);
    await assertConsumerCorrupt(s.ring);
    assert.throws(() => s.ring.release(), isCorrupt);
    assert.throws(() => s.ring.tryWrite(1, new Uint8Array(1)), isCorrupt);
    assert.throws(() => s.ring.claim(1), isCorrupt);
    await assert.rejects(s.ring.write(1, new Uint8Array(1)), isCorrupt);
    s.ring.closeProducer(); // closing is always allowed
    s.ring.closeConsumer();
  });

  test('a tail more than capacity ahead of head is ERR_RING_CORRUPT', async () => {
    const s = setup(2 ** 32 - 64);
    s.setTail(s.head() + CAP + 8);
    await assertConsumerCorrupt(s.ring);
  });

  test('a tail moved backwards is ERR_RING_CORRUPT', async () => {
    const s = setup(2 ** 32 - 16);
    s.ring.tryWrite(1, new Uint8Array(8));
    s.ring.tryWrite(2, new Uint8Array(8));
    assert.equal(s.ring.drain(() => undefined), 2);
    s.setTail(s.tail() - 8);
    await assertConsumerCorrupt(s.ring);
  });

  test('a tail far behind head is ERR_RING_CORRUPT', async () => {
    const s = setup();
    s.setTail(s.head() - 2 ** 31);
    await assertConsumerCorrupt(s.ring);
  });
});

describe('a corrupt record header is rejected by the consumer', () => {
  for (const type of [RECORD_TYPE_MAX_USER + 1, 0x80000001, 0xfffffffe]) {
    test(`a record of the reserved type 0x${type.toString(16)} is ERR_RING_CORRUPT`, async () => {
      const s = setup();
      s.ring.tryWrite(1, new Uint8Array(8));
      s.header(0, 8, type);
      await assertConsumerCorrupt(s.ring);
    });
  }

  test('a record longer than maxPayload is ERR_RING_CORRUPT', async () => {
    const s = setup();
    s.ring.tryWrite(1, new Uint8Array(8));
    s.header(0, s.ring.maxPayload + 1, 1);
    await assertConsumerCorrupt(s.ring);
  });

  test('a record extending past the published tail is ERR_RING_CORRUPT', async () => {
    const s = setup();
    s.ring.tryWrite(1, new Uint8Array(8));
    s.header(0, 100, 1);
    await assertConsumerCorrupt(s.ring);
  });

  test('a record crossing the end of the data area is ERR_RING_CORRUPT', async () => {
    const s = setup(CAP - 16);
    s.setTail(s.head() + 48);
    s.header(CAP - 16, 32, 1);
    await assertConsumerCorrupt(s.ring);
  });

  test('a padding record that does not end at the end of the data area is ERR_RING_CORRUPT', async () => {
    const s = setup();
    s.ring.tryWrite(1, new Uint8Array(16));
    s.header(0, 8, RECORD_TYPE_PADDING);
    await assertConsumerCorrupt(s.ring);
  });

  test('a padding record running past the end of the data area is ERR_RING_CORRUPT', async () => {
    const s = setup(CAP - 64);
    s.setTail(s.head() + 128);
    s.header(CAP - 64, 200, RECORD_TYPE_PADDING);
    await assertConsumerCorrupt(s.ring);
  });

  test('a padding record longer than the published bytes is ERR_RING_CORRUPT', async () => {
    const s = setup(CAP - 64);
    s.setTail(s.head() + 32);
    s.header(CAP - 64, 64 - RECORD_HEADER_SIZE, RECORD_TYPE_PADDING);
    await assertConsumerCorrupt(s.ring);
  });

  test('a valid padding record with nothing published after it reads as empty, not corrupt', () => {
    const s = setup(CAP - 64);
    s.setTail(s.head() + 64);
    s.header(CAP - 64, 64 - RECORD_HEADER_SIZE, RECORD_TYPE_PADDING);
    const consumer = Ring.attach(s.buffer);
    assert.equal(consumer.peek(), null);
    s.header(0, 3, 1); // the record after the padding, as a producer would publish it
    s.setTail(s.tail() + recordSize(3));
    assert.equal(consumer.peek()?.type, 1);
  });
});

describe('§3 positions are the published ones; §6 details (issue 8, rule 4)', () => {
  test('tail is bounded by the stored head, not the local head of a drain batch', () => {
    const s = setup();
    for (let i = 0; i < 3; i++) s.ring.tryWrite(1, new Uint8Array(40));
    assert.equal(s.ring.drain(() => undefined, 1), 1); // caches tail 144, stores head 48
    let calls = 0;
    const handler = (): void => {
      if (++calls !== 2) return; // local head becomes 144, the stored head is 48
      s.header(144, 496, 1);
      s.header(648, 368, 1);
      s.header(0, 48, 1);
      s.setTail(1080); // 1080 − 144 ≤ capacity, 1080 − 48 > capacity
    };
    // TypeScript throws from the drain whose reload fails (the records before it are consumed); C returns their count.
    assert.throws(() => s.ring.drain(handler), isCorrupt);
    assert.equal(calls, 2);
    assert.equal(s.head(), 144);
    assert.throws(() => s.ring.drain(handler), isCorrupt);
  });

  test('a tryWrite that finds the ring full publishes nothing, not even records staged before it', () => {
    const s = setup();
    assert.equal(s.ring.stage(1, new Uint8Array(8)), true);
    assert.equal(s.ring.stage(1, new Uint8Array(496)), true);
    assert.equal(s.ring.tryWrite(1, new Uint8Array(504)), false);
    assert.equal(s.tail(), 0);
    s.ring.publish();
    assert.equal(s.tail(), 16 + 504);
  });

  test('an aborted claim rolls back its padding: the next record that fits before the end goes where it was', () => {
    const s = setup(CAP - 64);
    assert.ok(s.ring.claim(100)); // needs padding at CAP − 64
    s.ring.abort();
    assert.equal(s.ring.tryWrite(5, new Uint8Array(48)), true);
    const record = s.ring.peek();
    assert.equal(record?.type, 5);
    s.ring.release();
    assert.equal(s.head(), CAP - 64 + 56);
  });

  test('closing wakes the peer but leaves its parked flag to it', () => {
    const s = setup();
    s.view.setUint32(RING_HEADER_PARKED_CONSUMER, 1, true);
    s.view.setUint32(RING_HEADER_PARKED_PRODUCER, 1, true);
    s.ring.closeProducer();
    s.ring.closeConsumer();
    assert.equal(s.view.getUint32(RING_HEADER_PARKED_CONSUMER, true), 1);
    assert.equal(s.view.getUint32(RING_HEADER_PARKED_PRODUCER, true), 1);
    assert.equal(s.view.getUint32(RING_HEADER_DATA_SEQ, true), 1);
    assert.equal(s.view.getUint32(RING_HEADER_SPACE_SEQ, true), 1);
  });
});

describe('a timed-out readable() re-checks once (wire-format §7, issue 8, rule 5)', () => {
  test('a record made visible during the park without a wake resolves readable() true at the timeout', async () => {
    const s = setup();
    const ring = Ring.attach(s.buffer, { parker: new PollingParker(), waitPolicy: { mode: 'park' } });
    setTimeout(() => {
      s.header(0, 8, 3);
      s.setTail(16); // no wake: the parker's word (data_seq) does not change, so the park runs to its timeout
    }, 20);
    const started = performance.now();
    assert.equal(await ring.readable({ timeout: 150 }), true);
    assert.ok(performance.now() - started >= 140, 'it resolved at the timeout, not at the (absent) wake');
    assert.equal(ring.peek()?.type, 3);
  });
});

describe('reserved values in the ring header (issue 8, rule 3)', () => {
  test('attach refuses reserved bits 2–31 of closed, like non-zero flags, and accepts both defined bits', () => {
    for (const closed of [4, 0x80000000, 0x80000003]) {
      const s = setup();
      s.view.setUint32(RING_CLOSED_OFFSET, closed >>> 0, true);
      assert.throws(() => Ring.attach(s.buffer), isCorrupt);
    }
    const s = setup();
    s.view.setUint32(RING_CLOSED_OFFSET, 3, true);
    assert.doesNotThrow(() => Ring.attach(s.buffer));
    s.view.setUint32(RING_CLOSED_OFFSET, 0, true);
    s.view.setUint32(16, 1, true); // flags
    assert.throws(() => Ring.attach(s.buffer), isCorrupt);
  });
});

describe('padding at data index 0 (issue 8, rule 1)', () => {
  test('a padding record at index 0 covering the whole data area is ERR_RING_CORRUPT, not a silent stall', async () => {
    for (const initial of [0, 2 ** 32 - CAP]) {
      const s = setup(initial);
      s.header(0, CAP - RECORD_HEADER_SIZE, RECORD_TYPE_PADDING);
      s.setTail(s.head() + CAP);
      await assertConsumerCorrupt(s.ring);
      assert.equal(s.head(), initial, 'head is not moved past a corrupt padding');
      // salvage() applies the same checks to its own tail
      const salvaged = Ring.attach(s.buffer).salvage();
      assert.equal(salvaged.records.length, 0);
      assert.ok(salvaged.error !== undefined && isCorrupt(salvaged.error));
    }
  });

  test('padding skipped with nothing after it is handed back: head is stored by peek() and drain()', () => {
    for (const via of ['peek', 'drain'] as const) {
      const s = setup(CAP - 64);
      s.header(CAP - 64, 64 - RECORD_HEADER_SIZE, RECORD_TYPE_PADDING);
      s.setTail(s.head() + 64);
      const consumer = Ring.attach(s.buffer);
      if (via === 'peek') assert.equal(consumer.peek(), null);
      else assert.equal(consumer.drain(() => undefined), 0);
      assert.equal(s.head(), CAP, `${via}() stored head past the padding`);
    }
  });
});

describe('a corrupt head is rejected by the producer', () => {
  function full(s: ReturnType<typeof setup>): void {
    while (s.ring.tryWrite(1, new Uint8Array(100)));
  }

  test('an unaligned head is ERR_RING_CORRUPT when the producer needs room', async () => {
    const s = setup();
    full(s);
    s.setHead(s.head() + 4);
    assert.throws(() => s.ring.tryWrite(1, new Uint8Array(100)), isCorrupt);
    assert.throws(() => s.ring.stage(1, new Uint8Array(1)), isCorrupt);
    assert.throws(() => s.ring.publish(), isCorrupt);
    await assertConsumerCorrupt(s.ring);
  });

  test('a head that passed the tail is ERR_RING_CORRUPT', () => {
    const s = setup(2 ** 32 - 200);
    full(s);
    s.setHead(s.tail() + 8);
    assert.throws(() => s.ring.claim(100), isCorrupt);
  });

  test('a head moved backwards is ERR_RING_CORRUPT', async () => {
    const s = setup();
    const consumer = Ring.attach(s.buffer);
    full(s);
    const start = s.head();
    consumer.drain(() => undefined, 2);
    full(s); // the producer has seen the new head
    s.setHead(start);
    await assert.rejects(s.ring.write(1, new Uint8Array(100), { timeout: 1000 }), isCorrupt);
  });
});

describe('random bytes written into the ring never escape as anything but ERR_RING_CORRUPT', () => {
  const pokeArb = (segment: number) =>
    fc.oneof(
      // a u32 at a position word or at an 8-aligned record header slot
      fc.record({
        offset: fc.oneof(
          fc.constantFrom(RING_TAIL_OFFSET, RING_HEAD_OFFSET, RING_CLOSED_OFFSET),
          fc.integer({ min: 0, max: (segment - RING_DATA_OFFSET) / 8 - 1 }).chain((k) => fc.constantFrom(RING_DATA_OFFSET + 8 * k, RING_DATA_OFFSET + 8 * k + 4)),
        ),
        value: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 2048 }), fc.constant(RECORD_TYPE_PADDING)),
        width: fc.constant(4 as const),
      }),
      // a random byte anywhere in the segment, descriptor included
      fc.record({ offset: fc.integer({ min: 0, max: segment - 1 }), value: fc.integer({ min: 0, max: 255 }), width: fc.constant(1 as const) }),
    );

  test('a consumer attached after the damage, and the producer and consumer already attached, see valid records or ERR_RING_CORRUPT', () => {
    const scenario = fc.constantFrom(CAP, CAP * 2).chain((capacity) =>
      fc.record({
        capacity: fc.constant(capacity),
        start: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 512 }).map((k) => (2 ** 32 - 8 * k) % 2 ** 32)),
        lengths: fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 30, size: 'max' }),
        consumed: fc.integer({ min: 0, max: 30 }),
        pokes: fc.array(pokeArb(Ring.segmentSize(capacity)), { minLength: 1, maxLength: 8 }),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ capacity, start, lengths, consumed, pokes }) => {
        const buffer = new ArrayBuffer(Ring.segmentSize(capacity));
        const producer = Ring.create(buffer, { capacity, initialPosition: start, parker: new PollingParker() });
        // A peer may also have raised the park flags: both sides have a parker to answer them.
        const consumer = Ring.attach(buffer, { parker: new PollingParker() });
        lengths.forEach((length, i) => producer.tryWrite(i, new Uint8Array(length).fill(i)));
        consumer.drain(() => undefined, consumed);
        const view = new DataView(buffer);
        for (const p of pokes) {
          if (p.width === 4) view.setUint32(p.offset, p.value >>> 0, true);
          else view.setUint8(p.offset, p.value);
        }
        let fresh: Ring | undefined;
        try {
          fresh = Ring.attach(buffer, { parker: new PollingParker() });
        } catch (e) {
          isCorrupt(e);
        }
        for (const reader of fresh ? [consumer, fresh] : [consumer]) readUntilStop(reader, buffer, capacity);
        for (let i = 0; i < 4; i++) {
          try {
            producer.tryWrite(1, new Uint8Array(40));
          } catch (e) {
            assert.ok(e instanceof RingError, String(e));
            assert.ok(e.code === 'ERR_RING_CORRUPT' || e.code === 'ERR_RING_CLOSED', String(e));
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test('random descriptor bytes make attach either fail with ERR_RING_CORRUPT or give a ring within the buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: BLOCK_SIZE, maxLength: BLOCK_SIZE }), fc.boolean(), (descriptor, keepMagic) => {
        const buffer = new ArrayBuffer(Ring.segmentSize(CAP * 2));
        Ring.create(buffer, { capacity: CAP });
        const bytes = new Uint8Array(buffer);
        bytes.set(keepMagic ? descriptor.subarray(4) : descriptor, keepMagic ? 4 : 0);
        try {
          const ring = Ring.attach(buffer);
          assert.ok(RING_HEADER_SIZE + ring.capacity <= buffer.byteLength);
          readUntilStop(ring, buffer, ring.capacity);
        } catch (e) {
          isCorrupt(e);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** Reads with peek/release and drain alternately until empty or corrupt; checks every record delivered. */
function readUntilStop(reader: Ring, buffer: ArrayBuffer, capacity: number): void {
  const dataStart = RING_DATA_OFFSET;
  const dataEnd = RING_DATA_OFFSET + capacity;
  const check = (type: number, payload: Uint8Array): void => {
    assert.ok(type >= 0 && type <= RECORD_TYPE_MAX_USER, `type ${type}`);
    assert.ok(payload.length <= reader.maxPayload);
    assert.equal(payload.buffer, buffer);
    assert.ok(payload.byteOffset >= dataStart + RECORD_HEADER_SIZE && payload.byteOffset + payload.length <= dataEnd);
    assert.equal((payload.byteOffset - dataStart) % 8, 0);
  };
  // Each record takes at least recordSize(0) bytes, so a valid ring holds at most capacity / recordSize(0) of them.
  const maxRecords = capacity / recordSize(0);
  let count = 0;
  try {
    for (let round = 0; ; round++) {
      assert.ok(count <= maxRecords, 'more records than the ring can hold: the reader would loop');
      if (round % 2 === 0) {
        const record = reader.peek();
        if (record === null) return;
        check(record.type, record.payload);
        reader.release();
        count++;
      } else {
        const n = reader.drain(check, 1);
        if (n === 0) return;
        count += n;
      }
    }
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    isCorrupt(e);
  }
}
