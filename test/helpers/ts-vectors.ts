/**
 * The TypeScript conformance vectors: ring images written by the TypeScript Ring after known operations, with the
 * records a conforming consumer must deliver. Same file shapes as the C vectors (native/test/ring_vectors.c):
 * NAME.bin is the ring segment (512 header bytes + capacity), NAME.json is
 * {name, description, capacity, max_payload, head, tail, records: [{type, payload: lowercase hex}], end, error}.
 * `node .out/test/helpers/write-ts-vectors.js --write` writes them to test/vectors/ts/; test/vectors.test.ts checks that the
 * committed files still equal what this module builds, and that the C implementation reads them as described.
 */
import { Ring } from '../../src/ring/ring.js';
import {
  RECORD_TYPE_MAX_USER,
  RECORD_TYPE_PADDING,
  RING_DATA_OFFSET,
  RING_HEAD_OFFSET,
  RING_TAIL_OFFSET,
  maxPayloadFor,
} from '../../src/ring/layout.js';

export interface VectorRecord {
  type: number;
  payload: string;
}

export interface VectorJson {
  name: string;
  description: string;
  capacity: number;
  max_payload: number;
  head: number;
  tail: number;
  records: VectorRecord[];
  end: 'empty' | 'closed' | null;
  error: string | null;
}

export interface Vector {
  bin: Uint8Array;
  json: VectorJson;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 29 + i * 13) & 0xff;
  return out;
}

/** Builds one vector: runs `ops` on a fresh ring, tracking what the consumer must still receive. */
class Builder {
  readonly buffer: ArrayBuffer;
  readonly producer: Ring;
  readonly consumer: Ring;
  private readonly expected: VectorRecord[] = [];
  private pending: VectorRecord[] = []; // staged, not yet published

  constructor(readonly capacity: number, maxPayload: number | undefined, initialPosition: number) {
    this.buffer = new ArrayBuffer(Ring.segmentSize(capacity));
    this.producer = Ring.create(this.buffer, { capacity, maxPayload, initialPosition });
    this.consumer = Ring.attach(this.buffer);
  }

  write(type: number, payload: Uint8Array): void {
    if (!this.producer.tryWrite(type, payload)) throw new Error('vector builder: the ring is full');
    this.publishPending();
    this.expected.push({ type, payload: toHex(payload) });
  }

  stage(type: number, payload: Uint8Array): void {
    if (!this.producer.stage(type, payload)) throw new Error('vector builder: the ring is full');
    this.pending.push({ type, payload: toHex(payload) });
  }

  publish(): void {
    this.producer.publish();
    this.publishPending();
  }

  claimCommit(type: number, payload: Uint8Array): void {
    const view = this.producer.claim(payload.length);
    if (view === null) throw new Error('vector builder: the ring is full');
    view.set(payload);
    this.producer.commit(type);
    this.publishPending();
    this.expected.push({ type, payload: toHex(payload) });
  }

  claimAbort(length: number, fill: number): void {
    const view = this.producer.claim(length);
    if (view === null) throw new Error('vector builder: the ring is full');
    view.fill(fill);
    this.producer.abort();
  }

  consume(count: number): void {
    if (this.consumer.drain(() => undefined, count) !== count) throw new Error('vector builder: too few records');
    this.expected.splice(0, count);
  }

  finish(name: string, description: string, end: 'empty' | 'closed' = 'empty'): Vector {
    if (end === 'closed') this.producer.closeProducer();
    return { bin: new Uint8Array(this.buffer), json: { ...this.describe(name, description), records: this.expected, end, error: null } };
  }

  /** Finishes a corrupt vector: `damage` pokes the image; a consumer must report ERR_RING_CORRUPT before any record. */
  corrupt(name: string, description: string, damage: (view: DataView) => void): Vector {
    damage(new DataView(this.buffer));
    return { bin: new Uint8Array(this.buffer), json: { ...this.describe(name, description), records: [], end: null, error: 'ERR_RING_CORRUPT' } };
  }

  private describe(name: string, description: string): Omit<VectorJson, 'records' | 'end' | 'error'> {
    const v = new DataView(this.buffer);
    return {
      name,
      description,
      capacity: this.capacity,
      max_payload: this.producer.maxPayload,
      head: v.getUint32(RING_HEAD_OFFSET, true),
      tail: v.getUint32(RING_TAIL_OFFSET, true),
    };
  }

  private publishPending(): void {
    this.expected.push(...this.pending);
    this.pending = [];
  }
}

const CAP = 1024;
const MAX = maxPayloadFor(CAP);

export function buildTsVectors(): Vector[] {
  const vectors: Vector[] = [];

  let b = new Builder(CAP, undefined, 0);
  b.write(1, new TextEncoder().encode('Hello World from TypeScript!'));
  b.write(0, new Uint8Array(0));
  b.write(RECORD_TYPE_MAX_USER, pattern(7, 1));
  b.write(42, pattern(64, 2));
  vectors.push(b.finish('ts-basic', 'four records of assorted types and lengths written by tryWrite from position 0'));

  b = new Builder(CAP, undefined, 0);
  for (let i = 0; i < 6; i++) b.write(3, pattern(120, i));
  b.consume(6);
  b.write(4, pattern(200, 7)); // 208 bytes at index 768: fits before the end (1024 - 768 = 256)
  b.write(5, pattern(100, 8)); // 112 bytes at index 976: 48 left, so padding of 48 and the record at 0
  b.write(6, pattern(3, 9));
  vectors.push(b.finish('ts-wrap-padding', 'six records consumed, then a record before the end, a 48-byte padding record, and two records from index 0'));

  b = new Builder(CAP, undefined, 2 ** 32 - 160);
  b.write(7, pattern(100, 10)); // 112 bytes: 2^32-160 .. 2^32-48
  b.write(8, pattern(60, 11)); // 72 bytes, only 48 left before the end of the data area: padding, then index 0
  b.write(9, pattern(10, 12));
  vectors.push(b.finish('ts-u32-wrap', 'positions start at 2^32-160; the tail wraps past 2^32 behind a padding record (tail < head as numbers)'));

  b = new Builder(CAP, undefined, 8 * 1000);
  for (let i = 0; i < 6; i++) b.write(20 + i, new Uint8Array(0));
  b.consume(2);
  vectors.push(b.finish('ts-zero-length', 'six zero-length payloads, two consumed, from position 8000'));

  b = new Builder(CAP, undefined, 0);
  b.write(30, pattern(MAX, 13));
  b.claimCommit(31, pattern(MAX, 14));
  vectors.push(b.finish('ts-max-payload', 'two records of max_payload (504) bytes filling the ring exactly, by tryWrite and by claim/commit'));

  b = new Builder(CAP, undefined, 0);
  b.write(40, pattern(300, 15));
  b.consume(1);
  b.write(41, pattern(16, 16)); // index 312
  b.claimAbort(MAX, 0xee); // 512 bytes at index 336 fit before the end: no padding
  b.claimCommit(42, pattern(MAX, 17)); // the aborted claim's room, now committed
  vectors.push(b.finish('ts-claim-abort-commit', 'an aborted claim of max_payload bytes, then a committed claim of the same size in its place'));

  b = new Builder(CAP, undefined, 0);
  for (let i = 0; i < 9; i++) b.write(50, pattern(100, 18 + i));
  b.consume(9); // head = tail = 1008: 16 bytes before the end
  b.claimAbort(40, 0xdd); // writes a padding header at 1008, then the payload at 8; nothing published
  b.write(51, pattern(4, 27)); // fits in the 16 bytes before the end: no padding
  vectors.push(b.finish('ts-aborted-wrap-claim', 'an aborted claim that wrote padding leaves unpublished bytes; the next record fits before the end'));

  b = new Builder(CAP, undefined, 0);
  b.stage(60, pattern(10, 28));
  b.stage(61, pattern(20, 29));
  b.publish();
  b.stage(62, pattern(30, 30)); // staged, never published: in the image beyond tail
  vectors.push(b.finish('ts-staged-unpublished', 'two staged records published at once, a third staged but not published (its bytes lie past tail)'));

  b = new Builder(4096, 100, 2 ** 32 - 4096);
  for (let i = 0; i < 40; i++) b.write(70 + (i % 3), pattern(i * 2 + 20, 31 + i));
  b.consume(25);
  vectors.push(b.finish('ts-custom-max-payload', 'capacity 4096 with max_payload 100 from position 2^32-4096, 40 records written, 25 consumed'));

  b = new Builder(CAP, undefined, 0);
  b.write(80, pattern(5, 40));
  b.write(81, pattern(6, 41));
  vectors.push(b.finish('ts-closed', 'two records, then the producer closed the ring', 'closed'));

  b = new Builder(CAP, undefined, 0);
  b.write(1, pattern(8, 50));
  vectors.push(b.corrupt('ts-corrupt-type-reserved', 'the first record has type 0xFFFFFFFE', (v) => v.setUint32(RING_DATA_OFFSET + 4, RECORD_TYPE_PADDING - 1, true)));

  b = new Builder(CAP, undefined, CAP - 64);
  b.write(1, pattern(100, 51)); // padding of 64 at 960, then the record at 0
  vectors.push(
    b.corrupt('ts-corrupt-padding-past-tail', 'the padding record at index 960 claims 1000 bytes', (v) =>
      v.setUint32(RING_DATA_OFFSET + CAP - 64, 1000, true),
    ),
  );

  // §4 check 3 at a wrapped position: data index 0 is position 2^32 − capacity, and tail wraps to 0.
  b = new Builder(CAP, undefined, 2 ** 32 - CAP);
  vectors.push(
    b.corrupt('ts-corrupt-padding-at-index-0', 'a padding record at data index 0 (position 2^32-1024) covering the whole data area, tail = head + capacity', (v) => {
      v.setUint32(RING_DATA_OFFSET, CAP - 8, true);
      v.setUint32(RING_DATA_OFFSET + 4, RECORD_TYPE_PADDING, true);
      v.setUint32(RING_TAIL_OFFSET, 0, true);
    }),
  );

  b = new Builder(CAP, undefined, 0);
  b.write(1, pattern(8, 52));
  vectors.push(b.corrupt('ts-corrupt-tail-behind-head', 'tail is head - 8', (v) => v.setUint32(RING_TAIL_OFFSET, 2 ** 32 - 8, true)));

  return vectors;
}
