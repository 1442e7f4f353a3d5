// Unit tests of the TypeScript Ring (src/ring/ring.ts): every operation and every argument error.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ring } from '../src/ring/ring.js';
import type { Parker } from '../src/ring/parker.js';
import type { WaitPolicy } from '../src/ring/wait-policy.js';
import {
  RECORD_HEADER_SIZE,
  RECORD_TYPE_MAX_USER,
  RECORD_TYPE_PADDING,
  RING_CAPACITY_OFFSET,
  RING_CLOSED_OFFSET,
  RING_CLOSED_CONSUMER,
  RING_CLOSED_PRODUCER,
  RING_CONSUMER_PARKED_OFFSET,
  RING_DATA_OFFSET,
  RING_DATA_SEQ_OFFSET,
  RING_FLAGS_OFFSET,
  RING_HEAD_OFFSET,
  RING_HEADER_SIZE,
  RING_HEADER_SIZE_OFFSET,
  RING_MAGIC,
  RING_MAGIC_OFFSET,
  RING_MAX_CAPACITY,
  RING_MAX_PAYLOAD_OFFSET,
  RING_MIN_CAPACITY,
  RING_PRODUCER_PARKED_OFFSET,
  RING_SPACE_SEQ_OFFSET,
  RING_TAIL_OFFSET,
  RING_VERSION,
  RING_VERSION_OFFSET,
  maxPayloadFor,
  recordSize,
} from '../src/ring/layout.js';
import { PollingParker } from './helpers/fake-parker.js';

const CAP = RING_MIN_CAPACITY;
const NEAR_WRAP = 2 ** 32 - 3 * RING_MIN_CAPACITY; // positions cross 2^32 after a few kilobytes

interface Fixture {
  ring: Ring;
  buffer: ArrayBuffer | SharedArrayBuffer;
  view: DataView;
  byteOffset: number;
}

function fixture(
  options: { capacity?: number; maxPayload?: number; initialPosition?: number; byteOffset?: number; shared?: boolean; parker?: Parker; waitPolicy?: WaitPolicy } = {},
): Fixture {
  const capacity = options.capacity ?? CAP;
  const byteOffset = options.byteOffset ?? 0;
  const size = byteOffset + Ring.segmentSize(capacity);
  const buffer = options.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
  const { shared: _s, capacity: _c, ...rest } = options;
  const ring = Ring.create(buffer, { ...rest, capacity });
  return { ring, buffer, byteOffset, view: new DataView(buffer, byteOffset) };
}

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function filled(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i * 31) & 0xff;
  return out;
}

function readAll(ring: Ring): Array<{ type: number; payload: number[] }> {
  const out: Array<{ type: number; payload: number[] }> = [];
  ring.drain((type, payload) => {
    out.push({ type, payload: [...payload] });
  });
  return out;
}

function tail(f: Fixture): number {
  return f.view.getUint32(RING_TAIL_OFFSET, true);
}

function head(f: Fixture): number {
  return f.view.getUint32(RING_HEAD_OFFSET, true);
}

function code(c: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.equal((e as { code?: unknown }).code, c, `expected ${c}, got ${String(e)}`);
    return true;
  };
}

describe('Ring creation and attachment', () => {
  test('segmentSize is the 512-byte header plus the capacity', () => {
    assert.equal(Ring.segmentSize(CAP), RING_HEADER_SIZE + CAP);
    assert.throws(() => Ring.segmentSize(3000), code('ERR_INVALID_ARG'));
  });

  test('create writes the descriptor of the wire format, little-endian, and zeroes the header', () => {
    const buffer = new ArrayBuffer(Ring.segmentSize(CAP));
    new Uint8Array(buffer).fill(0xee);
    Ring.create(buffer, { capacity: CAP, maxPayload: 100, initialPosition: 64 });
    const v = new DataView(buffer);
    assert.equal(v.getUint32(RING_MAGIC_OFFSET, true), RING_MAGIC);
    assert.deepEqual([...new Uint8Array(buffer, 0, 4)].map((c) => String.fromCharCode(c)).join(''), 'NSRB');
    assert.equal(v.getUint16(RING_VERSION_OFFSET, true), RING_VERSION);
    assert.equal(v.getUint16(RING_HEADER_SIZE_OFFSET, true), RING_HEADER_SIZE);
    assert.equal(v.getUint32(RING_CAPACITY_OFFSET, true), CAP);
    assert.equal(v.getUint32(RING_MAX_PAYLOAD_OFFSET, true), 100);
    assert.equal(v.getUint32(RING_FLAGS_OFFSET, true), 0);
    assert.equal(v.getUint32(RING_TAIL_OFFSET, true), 64);
    assert.equal(v.getUint32(RING_HEAD_OFFSET, true), 64);
    assert.equal(v.getUint32(RING_CLOSED_OFFSET, true), 0);
    assert.equal(v.getUint32(RING_DATA_SEQ_OFFSET, true), 0);
    assert.equal(v.getUint8(RING_MAX_PAYLOAD_OFFSET + 10), 0, 'reserved bytes are zero');
  });

  test('maxPayload defaults to capacity/2 - 8', () => {
    const { ring } = fixture();
    assert.equal(ring.capacity, CAP);
    assert.equal(ring.maxPayload, maxPayloadFor(CAP));
  });

  test('create rejects a buffer that is not an ArrayBuffer or SharedArrayBuffer', () => {
    assert.throws(() => Ring.create(new Uint8Array(4096) as unknown as ArrayBuffer, { capacity: CAP }), /'buffer'/);
    assert.throws(() => Ring.create(null as unknown as ArrayBuffer, { capacity: CAP }), code('ERR_INVALID_ARG'));
  });

  test('create rejects a capacity that is not a power of two or is out of range, naming capacity', () => {
    const buffer = new ArrayBuffer(1 << 16);
    for (const capacity of [3000, 512, 0, -1024, 1024.5, RING_MAX_CAPACITY * 2, Number.NaN, '1024']) {
      assert.throws(
        () => Ring.create(buffer, { capacity: capacity as number }),
        (e: unknown) => code('ERR_INVALID_ARG')(e) && /'capacity'/.test((e as Error).message),
      );
    }
  });

  test('create rejects a maxPayload of zero or above capacity/2 - 8', () => {
    const buffer = new ArrayBuffer(Ring.segmentSize(CAP));
    for (const maxPayload of [0, maxPayloadFor(CAP) + 1, 1.5]) {
      assert.throws(() => Ring.create(buffer, { capacity: CAP, maxPayload }), /'maxPayload'/);
    }
    assert.equal(Ring.create(buffer, { capacity: CAP, maxPayload: maxPayloadFor(CAP) }).maxPayload, maxPayloadFor(CAP));
  });

  test('create rejects a misaligned byteOffset and a segment that does not fit', () => {
    const buffer = new ArrayBuffer(Ring.segmentSize(CAP) + 256);
    assert.throws(() => Ring.create(buffer, { capacity: CAP, byteOffset: 64 }), /'byteOffset'/);
    assert.throws(() => Ring.create(buffer, { capacity: CAP, byteOffset: -128 }), /'byteOffset'/);
    assert.throws(() => Ring.create(buffer, { capacity: CAP, byteOffset: 384 }), (e: unknown) => code('ERR_INVALID_ARG')(e) && /'buffer'/.test((e as Error).message));
    assert.throws(() => Ring.create(new ArrayBuffer(CAP), { capacity: CAP }), /'buffer'/);
    assert.doesNotThrow(() => Ring.create(buffer, { capacity: CAP, byteOffset: 256 }));
  });

  test('create rejects an initialPosition that is unaligned or not a u32', () => {
    const buffer = new ArrayBuffer(Ring.segmentSize(CAP));
    for (const initialPosition of [4, -8, 2 ** 32, 1.5]) {
      assert.throws(() => Ring.create(buffer, { capacity: CAP, initialPosition }), /'initialPosition'/);
    }
  });

  test('create rejects a bad wait policy and a bad parker, naming them', () => {
    const buffer = new ArrayBuffer(Ring.segmentSize(CAP));
    assert.throws(() => Ring.create(buffer, { capacity: CAP, waitPolicy: { mode: 'sleep' as 'park' } }), /'waitPolicy.mode'/);
    assert.throws(() => Ring.create(buffer, { capacity: CAP, waitPolicy: { mode: 'spin', spinMicros: -1 } }), /'waitPolicy.spinMicros'/);
    assert.throws(() => Ring.create(buffer, { capacity: CAP, waitPolicy: 'spin' as unknown as WaitPolicy }), /'waitPolicy'/);
    assert.throws(() => Ring.create(buffer, { capacity: CAP, parker: {} as Parker }), /'parker'/);
    assert.throws(() => Ring.create(buffer, null as unknown as { capacity: number }), /'options'/);
  });

  test('attach sees the ring that create made, at a non-zero byteOffset, over a SharedArrayBuffer', () => {
    const f = fixture({ byteOffset: 256, shared: true, maxPayload: 200 });
    f.ring.tryWrite(7, bytes(1, 2, 3));
    const other = Ring.attach(f.buffer, { byteOffset: 256 });
    assert.equal(other.capacity, CAP);
    assert.equal(other.maxPayload, 200);
    assert.deepEqual(readAll(other), [{ type: 7, payload: [1, 2, 3] }]);
  });

  test('attach rejects a descriptor with a wrong magic, version, header size, capacity, max_payload or flags', () => {
    const cases: Array<[string, (v: DataView) => void]> = [
      ['magic', (v) => v.setUint32(RING_MAGIC_OFFSET, 0x12345678, true)],
      ['version', (v) => v.setUint16(RING_VERSION_OFFSET, RING_VERSION + 1, true)],
      ['header size', (v) => v.setUint16(RING_HEADER_SIZE_OFFSET, 256, true)],
      ['capacity', (v) => v.setUint32(RING_CAPACITY_OFFSET, 3000, true)],
      ['capacity', (v) => v.setUint32(RING_CAPACITY_OFFSET, CAP * 2, true)],
      ['max_payload', (v) => v.setUint32(RING_MAX_PAYLOAD_OFFSET, 0, true)],
      ['max_payload', (v) => v.setUint32(RING_MAX_PAYLOAD_OFFSET, maxPayloadFor(CAP) + 1, true)],
      ['flags', (v) => v.setUint32(RING_FLAGS_OFFSET, 1, true)],
    ];
    for (const [what, poke] of cases) {
      const f = fixture();
      poke(f.view);
      assert.throws(() => Ring.attach(f.buffer), (e: unknown) => code('ERR_RING_CORRUPT')(e) && (e as Error).message.includes(what.split(' ')[0]!));
    }
  });

  test('attach rejects positions that are unaligned or more than capacity apart', () => {
    for (const [t, h] of [[12, 0], [0, 4], [CAP + 8, 0], [0, 8]]) {
      const f = fixture();
      f.view.setUint32(RING_TAIL_OFFSET, t!, true);
      f.view.setUint32(RING_HEAD_OFFSET, h!, true);
      assert.throws(() => Ring.attach(f.buffer), code('ERR_RING_CORRUPT'));
    }
  });

  test('attach rejects bad arguments with ERR_INVALID_ARG', () => {
    const f = fixture();
    assert.throws(() => Ring.attach(f.buffer, { byteOffset: 8 }), /'byteOffset'/);
    // too small to hold a ring: the image's fault, the same code as too small for its data area (wire-format §7)
    assert.throws(() => Ring.attach(new ArrayBuffer(100)), { code: 'ERR_RING_CORRUPT' });
    assert.throws(() => Ring.attach('x' as unknown as ArrayBuffer), /'buffer'/);
  });
});

describe('Ring producer', () => {
  test('a written record is read back with its type and bytes', () => {
    const { ring } = fixture();
    assert.equal(ring.tryWrite(42, bytes(9, 8, 7)), true);
    const record = ring.peek();
    assert.ok(record);
    assert.equal(record.type, 42);
    assert.deepEqual([...record.payload], [9, 8, 7]);
    ring.release();
    assert.equal(ring.peek(), null);
  });

  test('tryWrite accepts any ArrayBufferView and the full type range', () => {
    const { ring } = fixture();
    ring.tryWrite(0, new Float64Array([1.5]));
    ring.tryWrite(RECORD_TYPE_MAX_USER, new DataView(new Uint8Array([5, 6]).buffer));
    ring.tryWrite(1, new Uint8Array(0));
    const out = readAll(ring);
    assert.deepEqual(out.map((r) => r.type), [0, RECORD_TYPE_MAX_USER, 1]);
    assert.deepEqual(out[0]!.payload, [...new Uint8Array(new Float64Array([1.5]).buffer)]);
    assert.deepEqual(out[1]!.payload, [5, 6]);
    assert.deepEqual(out[2]!.payload, []);
  });

  test('tryWrite rejects a type outside 0..0x7FFFFFFF and a payload that is not a view, naming them', () => {
    const { ring } = fixture();
    for (const type of [-1, RECORD_TYPE_MAX_USER + 1, RECORD_TYPE_PADDING, 1.5, Number.NaN, '1']) {
      assert.throws(() => ring.tryWrite(type as number, bytes(1)), (e: unknown) => code('ERR_INVALID_ARG')(e) && /'type'/.test((e as Error).message));
    }
    for (const payload of [null, 'abc', [1, 2], new ArrayBuffer(4)]) {
      assert.throws(() => ring.tryWrite(1, payload as unknown as Uint8Array), /'payload'/);
    }
    assert.equal(ring.peek(), null, 'nothing was written');
  });

  test('a payload larger than maxPayload is ERR_RING_TOO_BIG and a payload of exactly maxPayload fits', () => {
    const { ring } = fixture({ maxPayload: 100 });
    assert.throws(() => ring.tryWrite(1, new Uint8Array(101)), code('ERR_RING_TOO_BIG'));
    assert.throws(() => ring.stage(1, new Uint8Array(101)), code('ERR_RING_TOO_BIG'));
    assert.throws(() => ring.claim(101), code('ERR_RING_TOO_BIG'));
    assert.equal(ring.tryWrite(1, filled(100, 3)), true);
    assert.deepEqual(readAll(ring)[0]!.payload, [...filled(100, 3)]);
  });

  test('a full ring refuses a write without side effects', () => {
    const f = fixture();
    const { ring } = f;
    const payload = new Uint8Array(CAP / 4 - RECORD_HEADER_SIZE); // a record of exactly a quarter of the ring
    for (let i = 0; i < 4; i++) assert.equal(ring.tryWrite(i, payload), true);
    const before = new Uint8Array(f.buffer).slice();
    assert.equal(ring.tryWrite(9, new Uint8Array(0)), false);
    assert.equal(ring.stage(9, new Uint8Array(0)), false);
    assert.equal(ring.claim(0), null);
    assert.deepEqual(new Uint8Array(f.buffer), before);
    assert.deepEqual(readAll(ring).map((r) => r.type), [0, 1, 2, 3]);
    assert.equal(ring.tryWrite(9, new Uint8Array(0)), true, 'room again after the reads');
  });

  test('a record that does not fit before the end is preceded by padding and written at index 0', () => {
    const f = fixture({ initialPosition: NEAR_WRAP + CAP - 64 }); // 64 bytes before the end
    const { ring } = f;
    ring.tryWrite(2, filled(100, 1)); // needs 112 bytes: padding of 64 first
    const padAt = RING_DATA_OFFSET + CAP - 64;
    assert.equal(f.view.getUint32(padAt + 4, true), RECORD_TYPE_PADDING);
    assert.equal(f.view.getUint32(padAt, true), 64 - RECORD_HEADER_SIZE);
    assert.equal(f.view.getUint32(RING_DATA_OFFSET, true), 100, 'the record starts at index 0');
    assert.equal(f.view.getUint32(RING_DATA_OFFSET + 4, true), 2);
    assert.equal(tail(f), (NEAR_WRAP + CAP + recordSize(100)) >>> 0);
    assert.deepEqual(readAll(ring), [{ type: 2, payload: [...filled(100, 1)] }]);
    assert.equal(head(f), tail(f), 'the consumer skipped the padding');
  });

  test('a record that ends exactly at the end of the data area needs no padding', () => {
    const f = fixture();
    f.ring.tryWrite(1, new Uint8Array(CAP / 2 - RECORD_HEADER_SIZE));
    readAll(f.ring);
    f.ring.tryWrite(2, new Uint8Array(CAP / 2 - RECORD_HEADER_SIZE));
    assert.equal(f.view.getUint32(RING_DATA_OFFSET + CAP / 2 + 4, true), 2);
    assert.equal(tail(f), CAP);
    assert.equal(readAll(f.ring).length, 1);
  });

  test('positions wrap across 2^32 without losing or reordering records', () => {
    const f = fixture({ initialPosition: 2 ** 32 - 2 * 8 * 16 });
    for (let i = 0; i < 200; i++) {
      assert.equal(f.ring.tryWrite(i, filled(i % 40, i)), true);
      const got = readAll(f.ring);
      assert.deepEqual(got, [{ type: i, payload: [...filled(i % 40, i)] }]);
    }
    assert.ok(tail(f) < 2 ** 31, 'the tail wrapped');
  });

  test('staged records become visible only at publish, in order', () => {
    const f = fixture();
    const t0 = tail(f);
    assert.equal(f.ring.stage(1, bytes(1)), true);
    assert.equal(f.ring.stage(2, bytes(2)), true);
    assert.equal(tail(f), t0);
    const reader = Ring.attach(f.buffer);
    assert.equal(reader.peek(), null);
    f.ring.publish();
    assert.equal(tail(f), t0 + 2 * recordSize(1));
    assert.deepEqual(readAll(reader), [
      { type: 1, payload: [1] },
      { type: 2, payload: [2] },
    ]);
    f.ring.publish(); // nothing staged: no change
    assert.equal(tail(f), t0 + 2 * recordSize(1));
  });

  test('tryWrite also publishes records staged before it', () => {
    const { ring } = fixture();
    ring.stage(1, bytes(1));
    ring.tryWrite(2, bytes(2));
    assert.deepEqual(readAll(ring).map((r) => r.type), [1, 2]);
  });

  test('claim gives an aligned writable view and commit publishes it', () => {
    const f = fixture({ byteOffset: 128 });
    const view = f.ring.claim(16);
    assert.ok(view);
    assert.equal(view.length, 16);
    assert.equal(view.byteOffset % 8, 0);
    new Float64Array(view.buffer, view.byteOffset, 2).set([3.25, -1]);
    assert.equal(f.ring.peek(), null, 'not visible before commit');
    f.ring.commit(5);
    const r = f.ring.peek();
    assert.ok(r);
    assert.equal(r.type, 5);
    assert.deepEqual([...new Float64Array(r.payload.buffer, r.payload.byteOffset, 2)], [3.25, -1]);
  });

  test('abort publishes nothing and frees the room', () => {
    const f = fixture();
    const t0 = tail(f);
    const view = f.ring.claim(maxPayloadFor(CAP));
    assert.ok(view);
    view.fill(0xab);
    f.ring.abort();
    assert.equal(tail(f), t0);
    assert.equal(f.ring.peek(), null);
    assert.ok(f.ring.claim(maxPayloadFor(CAP)), 'the same room can be claimed again');
    f.ring.abort();
    f.ring.abort(); // no open claim: nothing to do
    f.ring.tryWrite(3, bytes(3));
    assert.deepEqual(readAll(f.ring), [{ type: 3, payload: [3] }]);
  });

  test('a claim that wraps writes padding, and aborting it leaves the ring consistent', () => {
    const f = fixture({ initialPosition: NEAR_WRAP + CAP - 32 });
    const t0 = tail(f);
    const view = f.ring.claim(40);
    assert.ok(view);
    assert.equal(view.byteOffset, RING_DATA_OFFSET + RECORD_HEADER_SIZE, 'the payload is at the start of the data area');
    f.ring.abort();
    assert.equal(tail(f), t0);
    f.ring.tryWrite(2, bytes(1, 2));
    f.ring.tryWrite(3, filled(40, 2));
    assert.deepEqual(readAll(f.ring), [
      { type: 2, payload: [1, 2] },
      { type: 3, payload: [...filled(40, 2)] },
    ]);
  });

  test('a zero-length claim commits a zero-length record', () => {
    const { ring } = fixture();
    const view = ring.claim(0);
    assert.ok(view);
    assert.equal(view.length, 0);
    ring.commit(8);
    assert.deepEqual(readAll(ring), [{ type: 8, payload: [] }]);
  });

  test('commit without a claim, and writes or claims while a claim is open, are ERR_INVALID_STATE', () => {
    const { ring } = fixture();
    assert.throws(() => ring.commit(1), code('ERR_INVALID_STATE'));
    ring.claim(4);
    assert.throws(() => ring.claim(4), code('ERR_INVALID_STATE'));
    assert.throws(() => ring.tryWrite(1, bytes(1)), code('ERR_INVALID_STATE'));
    assert.throws(() => ring.stage(1, bytes(1)), code('ERR_INVALID_STATE'));
    assert.throws(() => ring.commit(-1), /'type'/, 'a bad type keeps the claim open');
    ring.commit(1);
    assert.equal(readAll(ring).length, 1);
  });

  test('claimAt gives the aligned byte offset of the payload in the buffer, and commit publishes what was written there', () => {
    const f = fixture({ byteOffset: 128 });
    const at = f.ring.claimAt(16);
    assert.equal(at, 128 + RING_DATA_OFFSET + RECORD_HEADER_SIZE);
    assert.equal(at % 8, 0);
    new Float64Array(f.buffer, at, 2).set([3.25, -1]);
    assert.equal(f.ring.peek(), null, 'not visible before commit');
    f.ring.commit(5);
    const r = f.ring.peek();
    assert.ok(r);
    assert.equal(r.type, 5);
    assert.equal(r.payload.byteOffset, at, 'the record is where claimAt said');
    assert.deepEqual([...new Float64Array(r.payload.buffer, r.payload.byteOffset, 2)], [3.25, -1]);
  });

  test('claimAt returns -1 on a full ring with no side effect, wraps with padding like claim, and keeps the one-claim rule', () => {
    const full = fixture();
    assert.ok(full.ring.tryWrite(1, filled(maxPayloadFor(CAP), 1)));
    assert.ok(full.ring.tryWrite(1, filled(maxPayloadFor(CAP) - 8, 2)));
    const t0 = tail(full);
    assert.equal(full.ring.claimAt(64), -1);
    assert.equal(tail(full), t0);
    assert.equal(full.ring.tryWrite(1, filled(64, 0)), false, 'still full, and no claim was left open (tryWrite would throw ERR_INVALID_STATE)');

    const wrap = fixture({ initialPosition: NEAR_WRAP + CAP - 32 });
    assert.equal(wrap.ring.claimAt(40), RING_DATA_OFFSET + RECORD_HEADER_SIZE, 'after the padding, at the start of the data area');
    assert.throws(() => wrap.ring.claimAt(4), code('ERR_INVALID_STATE'));
    assert.throws(() => wrap.ring.claim(4), code('ERR_INVALID_STATE'));
    wrap.ring.abort();
    for (const length of [-1, 1.5, '4', Number.NaN]) assert.throws(() => wrap.ring.claimAt(length as number), /'length'/);
    assert.throws(() => wrap.ring.claimAt(maxPayloadFor(CAP) + 1), code('ERR_RING_TOO_BIG'));
  });

  test('claim rejects a length that is not a non-negative integer', () => {
    const { ring } = fixture();
    for (const length of [-1, 1.5, '4', Number.NaN]) assert.throws(() => ring.claim(length as number), /'length'/);
  });

  test('closeProducer publishes staged records, ends the stream and makes producer calls ERR_RING_CLOSED', async () => {
    const f = fixture();
    f.ring.stage(1, bytes(1));
    f.ring.claim(8);
    f.ring.closeProducer();
    f.ring.closeProducer(); // idempotent
    assert.equal(f.view.getUint32(RING_CLOSED_OFFSET, true) & RING_CLOSED_PRODUCER, RING_CLOSED_PRODUCER);
    for (const call of [
      () => f.ring.tryWrite(1, bytes(1)),
      () => f.ring.stage(1, bytes(1)),
      () => f.ring.publish(),
      () => f.ring.claim(1),
      () => f.ring.commit(1),
      () => f.ring.abort(),
    ]) {
      assert.throws(call, code('ERR_RING_CLOSED'));
    }
    await assert.rejects(f.ring.write(1, bytes(1)), code('ERR_RING_CLOSED'));
    assert.equal(await f.ring.readable(), true);
    assert.deepEqual(readAll(f.ring), [{ type: 1, payload: [1] }], 'the staged record was published, the claim aborted');
    assert.equal(await f.ring.readable(), false);
  });

  test('a write to a full ring whose consumer closed is ERR_RING_CLOSED', async () => {
    const f = fixture();
    const consumer = Ring.attach(f.buffer);
    while (f.ring.tryWrite(1, new Uint8Array(100)));
    consumer.closeConsumer();
    assert.equal(f.view.getUint32(RING_CLOSED_OFFSET, true) & RING_CLOSED_CONSUMER, RING_CLOSED_CONSUMER);
    assert.throws(() => f.ring.tryWrite(1, new Uint8Array(100)), code('ERR_RING_CLOSED'));
    await assert.rejects(f.ring.write(1, new Uint8Array(100), { timeout: 1000 }), code('ERR_RING_CLOSED'));
  });
});

describe('Ring.writable()', () => {
  test('resolves at once when a record fits, writes nothing, and waits until the consumer frees room', async () => {
    const f = fixture({ waitPolicy: { mode: 'spin', spinMicros: 20 } });
    const { ring } = f;
    await ring.writable(100);
    assert.equal(tail(f), 0, 'writable() writes nothing');
    let staged = 0;
    while (ring.tryWrite(1, filled(100, staged))) staged++;
    const tailWhenFull = tail(f);
    let resolved = false;
    const waiting = ring.writable(100).then(() => {
      resolved = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(resolved, false, 'no room: it waits');
    assert.equal(tail(f), tailWhenFull, 'waiting writes no padding');
    assert.equal(readAll(ring).length, staged);
    await waiting;
    assert.equal(ring.tryWrite(1, filled(100, 0)), true, 'the record it waited for fits');
  });

  test('rejects a length over maxPayload, a bad length, a timeout and an abort with typed errors', async () => {
    const { ring } = fixture({ waitPolicy: { mode: 'spin', spinMicros: 20 } });
    await assert.rejects(ring.writable(ring.maxPayload + 1), code('ERR_RING_TOO_BIG'));
    await assert.rejects(ring.writable(-1), code('ERR_INVALID_ARG'));
    while (ring.tryWrite(1, filled(100, 1)));
    await assert.rejects(ring.writable(100, { timeout: 5 }), code('ERR_TIMEOUT'));
    const aborter = new AbortController();
    const pending = ring.writable(100, { signal: aborter.signal });
    aborter.abort();
    await assert.rejects(pending, code('ERR_ABORTED'));
  });
});

describe('wire-format §5.1 step 4: "space is available" for the producer (issue 8)', () => {
  /** Polls `condition` on timers until it holds; fails after 5 s instead of hanging. */
  async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = performance.now() + 5000;
    while (!condition()) {
      assert.ok(performance.now() < deadline, `timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  test('a producer waiting for space is released by the head store that makes room for its record, padding included, not by an earlier one', async () => {
    // Records of 128 bytes fill [0, 896), one of 64 bytes [896, 960). The producer waits to write a 144-byte record:
    // it does not fit in the 64 bytes before the end, so it needs 64 (padding) + 144 = 208 free bytes. Releasing
    // the first record frees 128 (192 free: enough for the record alone, not with its padding); the second, 256.
    const parker = new PollingParker();
    const f = fixture({ parker, waitPolicy: { mode: 'park' } });
    const consumer = Ring.attach(f.buffer, { parker: new PollingParker() });
    for (let i = 0; i < 7; i++) assert.equal(f.ring.tryWrite(1, filled(120, i)), true);
    assert.equal(f.ring.tryWrite(1, filled(56, 7)), true);
    assert.equal(tail(f), 960);
    const parked = (): number => f.view.getUint32(RING_PRODUCER_PARKED_OFFSET, true);
    const spaceSeq = (): number => f.view.getUint32(RING_SPACE_SEQ_OFFSET, true);
    let written = false;
    const writing = f.ring.write(9, filled(136, 9), { timeout: 10_000 }).then(() => (written = true));
    await until(() => parked() === 1, 'the producer parked');

    const seqBefore = spaceSeq();
    const waitsBefore = parker.waits;
    assert.notEqual(consumer.peek(), null);
    consumer.release(); // head 128
    assert.equal(spaceSeq(), seqBefore + 1, 'the head store woke the parked producer');
    await until(() => parker.waits > waitsBefore && parked() === 1, 'the producer looked again and parked again');
    await new Promise((r) => setTimeout(r, 20)); // a producer that took 192 free bytes for enough would write now
    assert.equal(written, false, '192 free bytes are not room for a 144-byte record that needs 64 bytes of padding first');
    assert.equal(tail(f), 960, 'nothing was written, not even the padding');

    assert.notEqual(consumer.peek(), null);
    consumer.release(); // head 256: 320 free
    await writing;
    assert.equal(tail(f), 1024 + 144, 'padding to the end, then the record at index 0');
    const after: number[] = [];
    consumer.drain((type) => void after.push(type));
    assert.deepEqual(after, [1, 1, 1, 1, 1, 1, 9]);
  });
});

describe('Ring consumer', () => {
  test('peek on an empty ring is null and release without peek is ERR_INVALID_STATE', () => {
    const { ring } = fixture();
    assert.equal(ring.peek(), null);
    assert.throws(() => ring.release(), code('ERR_INVALID_STATE'));
  });

  test('peek twice returns the same record until release', () => {
    const f = fixture();
    f.ring.tryWrite(1, bytes(1));
    f.ring.tryWrite(2, bytes(2));
    assert.equal(f.ring.peek()?.type, 1);
    assert.equal(f.ring.peek()?.type, 1);
    const h0 = head(f);
    f.ring.release();
    assert.equal(head(f), h0 + recordSize(1));
    assert.equal(f.ring.peek()?.type, 2);
  });

  test('a peeked payload is a zero-copy view of the ring memory', () => {
    const f = fixture();
    f.ring.tryWrite(1, bytes(1, 2));
    const r = f.ring.peek();
    assert.ok(r);
    assert.equal(r.payload.buffer, f.buffer);
    assert.equal(r.payload.byteOffset, RING_DATA_OFFSET + RECORD_HEADER_SIZE);
  });

  test('drain delivers records in order, honours limit and stores head once', () => {
    const f = fixture();
    for (let i = 0; i < 5; i++) f.ring.tryWrite(i, bytes(i));
    const seen: number[] = [];
    assert.equal(f.ring.drain((type) => void seen.push(type), 2), 2);
    assert.equal(head(f), 2 * recordSize(1));
    assert.equal(f.ring.drain((type) => void seen.push(type), 0), 0);
    assert.equal(f.ring.drain((type) => void seen.push(type)), 3);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.equal(f.ring.drain(() => undefined), 0);
  });

  test('a drain handler returning true stops after that record', () => {
    const { ring } = fixture();
    for (let i = 0; i < 3; i++) ring.tryWrite(i, bytes(i));
    const seen: number[] = [];
    assert.equal(ring.drain((type) => (seen.push(type), type === 1)), 2);
    assert.deepEqual(seen, [0, 1]);
    assert.equal(ring.peek()?.type, 2);
  });

  test('a throwing drain handler leaves its record unconsumed and the earlier ones consumed', () => {
    const f = fixture();
    for (let i = 0; i < 3; i++) f.ring.tryWrite(i, bytes(i));
    assert.throws(
      () =>
        f.ring.drain((type) => {
          if (type === 1) throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(head(f), recordSize(1));
    assert.deepEqual(readAll(f.ring).map((r) => r.type), [1, 2]);
  });

  test('a drain handler calling consumer methods of the same ring is ERR_INVALID_STATE', () => {
    const { ring } = fixture();
    ring.tryWrite(1, bytes(1));
    assert.throws(() => ring.drain(() => void ring.peek()), code('ERR_INVALID_STATE'));
    assert.equal(ring.peek()?.type, 1, 'the ring is still usable');
  });

  test('drain rejects a handler that is not a function and a bad limit', () => {
    const { ring } = fixture();
    assert.throws(() => ring.drain(null as unknown as () => void), /'handler'/);
    assert.throws(() => ring.drain(() => undefined, -1), /'limit'/);
    assert.throws(() => ring.drain(() => undefined, 1.5), /'limit'/);
  });

  test('drainAt hands each record as its type, byte offset in the buffer and length, consuming exactly as drain does', () => {
    const f = fixture({ byteOffset: 256, initialPosition: NEAR_WRAP + CAP - 64 });
    const written = [filled(3, 1), filled(40, 2), bytes(), filled(17, 3)]; // the second one wraps (padding is skipped)
    written.forEach((payload, i) => assert.ok(f.ring.tryWrite(i + 1, payload)));
    const seen: Array<{ type: number; payload: number[] }> = [];
    assert.equal(
      f.ring.drainAt((type, offset, length) => {
        assert.equal(offset % 8, 0);
        seen.push({ type, payload: [...new Uint8Array(f.buffer, offset, length)] });
      }, 3),
      3,
    );
    assert.deepEqual(seen, written.slice(0, 3).map((p, i) => ({ type: i + 1, payload: [...p] })));
    assert.equal(f.ring.drainAt((type) => type === 4), 1, 'returning true stops after that record');
    assert.equal(head(f), tail(f), 'everything was consumed and head stored');
    assert.throws(() => f.ring.drainAt(null as unknown as () => void), /'handler'/);
    assert.throws(() => f.ring.drainAt(() => undefined, -1), /'limit'/);
  });

  test('a throwing drainAt handler leaves its record unconsumed, and calling consumer methods inside is ERR_INVALID_STATE', () => {
    const f = fixture();
    for (let i = 0; i < 3; i++) f.ring.tryWrite(i, bytes(i));
    assert.throws(() => f.ring.drainAt((type) => {
      if (type === 1) throw new Error('boom');
    }), /boom/);
    assert.equal(head(f), recordSize(1));
    assert.throws(() => f.ring.drainAt(() => void f.ring.peek()), code('ERR_INVALID_STATE'));
    assert.deepEqual(readAll(f.ring).map((r) => r.type), [1, 2]);
  });

  test('drain after peek starts at the peeked record and cancels the peek', () => {
    const { ring } = fixture();
    ring.tryWrite(1, bytes(1));
    ring.peek();
    assert.equal(ring.drain(() => undefined), 1);
    assert.throws(() => ring.release(), code('ERR_INVALID_STATE'));
  });

  test('consumer calls after closeConsumer are ERR_RING_CLOSED', async () => {
    const { ring } = fixture();
    ring.tryWrite(1, bytes(1));
    ring.closeConsumer();
    ring.closeConsumer();
    assert.throws(() => ring.peek(), code('ERR_RING_CLOSED'));
    assert.throws(() => ring.release(), code('ERR_RING_CLOSED'));
    assert.throws(() => ring.drain(() => undefined), code('ERR_RING_CLOSED'));
    await assert.rejects(ring.readable(), code('ERR_RING_CLOSED'));
  });
});

describe('Ring waiting', () => {
  test('readable resolves true at once when a record is there, false when the producer closed and all was read', async () => {
    const { ring } = fixture({ waitPolicy: { mode: 'park' } });
    ring.tryWrite(1, bytes(1));
    assert.equal(await ring.readable(), true);
    readAll(ring);
    ring.closeProducer();
    assert.equal(await ring.readable(), false);
  });

  test('readable in spin mode resolves when a record arrives later, and the event loop keeps running', async () => {
    const { ring } = fixture({ waitPolicy: { mode: 'spin', spinMicros: 20 } });
    let ticks = 0;
    const interval = setInterval(() => ticks++, 1);
    setTimeout(() => ring.tryWrite(3, bytes(3)), 30);
    assert.equal(await ring.readable({ timeout: 10_000 }), true);
    clearInterval(interval);
    assert.ok(ticks > 0, 'timers ran while readable() was pending');
    assert.equal(ring.peek()?.type, 3);
  });

  test('readable in park mode is woken by a later write, with one wake per park', async () => {
    const parker = new PollingParker();
    const f = fixture({ parker, waitPolicy: { mode: 'park' } });
    const producer = Ring.attach(f.buffer, { parker });
    const pending = f.ring.readable({ timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(f.view.getUint32(RING_CONSUMER_PARKED_OFFSET, true), 1, 'the consumer announced that it parks');
    producer.tryWrite(1, bytes(1));
    producer.tryWrite(2, bytes(2));
    assert.equal(await pending, true);
    assert.equal(parker.wakes, 1, 'the second publication found the flag cleared: wake-ups coalesce');
    assert.equal(f.view.getUint32(RING_CONSUMER_PARKED_OFFSET, true), 0);
    assert.equal(f.view.getUint32(RING_DATA_SEQ_OFFSET, true), 1);
  });

  test('readable in spin-then-park mode parks after its spin and is woken', async () => {
    const parker = new PollingParker();
    const { ring } = fixture({ parker, waitPolicy: { mode: 'spin-then-park', spinMicros: 10 } });
    setTimeout(() => ring.tryWrite(1, bytes(1)), 10);
    assert.equal(await ring.readable({ timeout: 10_000 }), true);
    assert.ok(parker.waits >= 1);
  });

  test('with no parker option, a parked readable is woken through the default (native) parker', { timeout: 30_000 }, async () => {
    const f = fixture({ waitPolicy: { mode: 'park' } });
    const producer = Ring.attach(f.buffer);
    const pending = f.ring.readable({ timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(f.view.getUint32(RING_CONSUMER_PARKED_OFFSET, true), 1);
    producer.tryWrite(1, bytes(1));
    assert.equal(await pending, true);
    assert.equal(f.view.getUint32(RING_CONSUMER_PARKED_OFFSET, true), 0);
  });

  test('without the native addon a ring works until it must park, which is ERR_ADDON_MISSING', { timeout: 30_000 }, () => {
    // A copy of the compiled sources outside the package finds no build/Release/native_sidecar.node.
    const dir = mkdtempSync(join(tmpdir(), 'ring-no-addon-'));
    try {
      cpSync(fileURLToPath(new URL('../src/', import.meta.url)), join(dir, 'src'), { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
      const script = `
        import { Ring } from ${JSON.stringify(pathToFileURL(join(dir, 'src', 'ring', 'ring.js')).href)};
        const buffer = new ArrayBuffer(Ring.segmentSize(1024));
        const ring = Ring.create(buffer, { capacity: 1024, waitPolicy: { mode: 'park' } });
        ring.tryWrite(1, new Uint8Array(1));
        const out = [await ring.readable(), ring.drain(() => {})];
        try { await ring.readable(); out.push('resolved'); } catch (e) { out.push(e.code); }
        console.log(JSON.stringify(out));`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), [true, 1, 'ERR_ADDON_MISSING']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('readable times out with ERR_TIMEOUT in every mode', async () => {
    for (const waitPolicy of [{ mode: 'spin' }, { mode: 'spin-then-park' }, { mode: 'park' }] as const) {
      const f = fixture({ parker: new PollingParker(), waitPolicy });
      await assert.rejects(f.ring.readable({ timeout: 20 }), code('ERR_TIMEOUT'));
      assert.equal(f.view.getUint32(RING_CONSUMER_PARKED_OFFSET, true), 0);
    }
    const { ring } = fixture({ parker: new PollingParker() });
    await assert.rejects(ring.readable({ timeout: 0 }), code('ERR_TIMEOUT'));
  });

  test('a park that overshoots its deadline by a millisecond or two still ends in ERR_TIMEOUT', { timeout: 10_000 }, async () => {
    // A parker that reports its timeout 1.5 ms late, as a loaded machine does: the remaining time is then
    // between -1 and -2 ms, which must not be mistaken for "wait without a limit".
    const late: Parker = {
      wake: () => {},
      wait: (_view, _index, _expected, timeoutMs) =>
        new Promise((resolve) => {
          if (timeoutMs >= 0) setTimeout(() => resolve('timed-out'), timeoutMs + 1.5); // a negative limit: never
        }),
      close: () => {},
    };
    for (let i = 0; i < 20; i++) {
      const f = fixture({ parker: late, waitPolicy: { mode: 'park' } });
      await assert.rejects(f.ring.readable({ timeout: 3 }), code('ERR_TIMEOUT'));
    }
  });

  test('readable rejects with ERR_ABORTED for an aborted signal and when the signal aborts while waiting', async () => {
    for (const waitPolicy of [{ mode: 'spin' }, { mode: 'park' }] as const) {
      const f = fixture({ parker: new PollingParker(), waitPolicy });
      await assert.rejects(f.ring.readable({ signal: AbortSignal.abort() }), code('ERR_ABORTED'));
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('stop')), 10);
      await assert.rejects(f.ring.readable({ signal: controller.signal, timeout: 10_000 }), code('ERR_ABORTED'));
      assert.equal(f.view.getUint32(RING_CONSUMER_PARKED_OFFSET, true), 0);
    }
  });

  test('readable and write reject bad wait options naming them', async () => {
    const { ring } = fixture();
    await assert.rejects(ring.readable({ timeout: -1 }), /'options.timeout'/);
    await assert.rejects(ring.readable({ signal: {} as AbortSignal }), /'options.signal'/);
    await assert.rejects(ring.write(1, bytes(1), 5 as unknown as { timeout: number }), /'options'/);
  });

  test('closeConsumer rejects a parked readable with ERR_RING_CLOSED', async () => {
    const parker = new PollingParker();
    const f = fixture({ parker, waitPolicy: { mode: 'park' } });
    const pending = f.ring.readable({ timeout: 10_000 });
    setTimeout(() => f.ring.closeConsumer(), 5);
    await assert.rejects(pending, code('ERR_RING_CLOSED'));
    assert.equal(f.view.getUint32(RING_CONSUMER_PARKED_OFFSET, true), 0);
  });

  test('closeProducer resolves a parked readable of another Ring object with false', async () => {
    const parker = new PollingParker();
    const f = fixture({ parker, waitPolicy: { mode: 'park' } });
    const producer = Ring.attach(f.buffer, { parker });
    const pending = f.ring.readable({ timeout: 10_000 });
    setTimeout(() => producer.closeProducer(), 5);
    assert.equal(await pending, false);
  });

  test('several pending readable calls all resolve', async () => {
    const parker = new PollingParker();
    const { ring } = fixture({ parker, waitPolicy: { mode: 'park' } });
    const all = Promise.all([ring.readable({ timeout: 10_000 }), ring.readable({ timeout: 10_000 })]);
    setTimeout(() => ring.tryWrite(1, bytes(1)), 5);
    assert.deepEqual(await all, [true, true]);
  });

  test('write waits for room and completes once the consumer frees it', async () => {
    for (const waitPolicy of [{ mode: 'spin' }, { mode: 'park' }] as const) {
      const parker = new PollingParker();
      const f = fixture({ parker, waitPolicy });
      const consumer = Ring.attach(f.buffer, { parker });
      let n = 0;
      while (f.ring.tryWrite(n, new Uint8Array(200))) n++;
      const pending = f.ring.write(n, new Uint8Array(200), { timeout: 10_000 });
      let settled = false;
      void pending.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(settled, false, 'write waits while the ring is full');
      if (waitPolicy.mode === 'park') assert.equal(f.view.getUint32(RING_PRODUCER_PARKED_OFFSET, true), 1);
      consumer.drain(() => undefined, 1);
      await pending;
      const types = readAll(consumer).map((r) => r.type);
      assert.deepEqual(types, Array.from({ length: n }, (_, i) => i + 1));
      assert.equal(f.view.getUint32(RING_PRODUCER_PARKED_OFFSET, true), 0);
    }
  });

  test('write on a full ring times out with ERR_TIMEOUT and writes nothing', async () => {
    const f = fixture({ parker: new PollingParker() });
    while (f.ring.tryWrite(1, new Uint8Array(200)));
    const t0 = tail(f);
    await assert.rejects(f.ring.write(2, new Uint8Array(200), { timeout: 15 }), code('ERR_TIMEOUT'));
    assert.equal(tail(f), t0);
  });

  test('write publishes staged records before it waits', async () => {
    const parker = new PollingParker();
    const f = fixture({ parker, waitPolicy: { mode: 'park' } });
    while (f.ring.stage(1, new Uint8Array(200)));
    const reader = Ring.attach(f.buffer, { parker });
    assert.equal(reader.peek(), null);
    const pending = f.ring.write(2, new Uint8Array(200), { timeout: 10_000 });
    assert.equal(reader.peek()?.type, 1, 'staged records were published');
    reader.drain(() => undefined);
    await pending;
  });

  test('a parked write is rejected with ERR_RING_CLOSED when the consumer closes', async () => {
    const parker = new PollingParker();
    const f = fixture({ parker, waitPolicy: { mode: 'park' } });
    const consumer = Ring.attach(f.buffer, { parker });
    while (f.ring.tryWrite(1, new Uint8Array(200)));
    const pending = f.ring.write(1, new Uint8Array(200), { timeout: 10_000 });
    setTimeout(() => consumer.closeConsumer(), 5);
    await assert.rejects(pending, code('ERR_RING_CLOSED'));
  });

  test('the async iterator yields copies in order and ends when the producer closes', async () => {
    const parker = new PollingParker();
    const { ring } = fixture({ parker });
    ring.tryWrite(1, bytes(1));
    setTimeout(() => {
      ring.tryWrite(2, bytes(2, 2));
      ring.closeProducer();
    }, 5);
    const got: Array<{ type: number; payload: Uint8Array }> = [];
    for await (const record of ring) got.push(record);
    assert.deepEqual(got.map((r) => [r.type, [...r.payload]]), [
      [1, [1]],
      [2, [2, 2]],
    ]);
    assert.notEqual(got[0]!.payload.buffer, got[1]!.payload.buffer);
    assert.equal(got[0]!.payload.byteLength, got[0]!.payload.buffer.byteLength, 'a copy owns its own buffer');
  });

  test('a producer and a consumer exchange many records through waits without a lost wake-up', async () => {
    // Would hang (and fail on the timeout) if a publication ever missed a parked consumer or a release a parked producer.
    const parker = new PollingParker(0);
    const f = fixture({ parker, waitPolicy: { mode: 'park' } });
    const consumer = Ring.attach(f.buffer, { parker, waitPolicy: { mode: 'park' } });
    const total = 2000;
    const producing = (async () => {
      for (let i = 0; i < total; i++) await f.ring.write(i & 0xff, filled(i % 300, i), { timeout: 10_000 });
      f.ring.closeProducer();
    })();
    let expected = 0;
    while (await consumer.readable({ timeout: 10_000 })) {
      consumer.drain((type, payload) => {
        assert.equal(type, expected & 0xff);
        assert.deepEqual(payload, filled(expected % 300, expected));
        expected++;
      }, 3);
    }
    await producing;
    assert.equal(expected, total);
  });
});
