// Tests of the fast paths added for speed: Ring.commit(type, false) (staged claim), the payload views built from the
// buffer, and the Sidecar's direct-mapped table of pending requests (src/sidecar/pending.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from '../src/ring/ring.js';
import { RING_DATA_OFFSET, RING_TAIL_OFFSET } from '../src/ring/layout.js';
import { PendingRequests } from '../src/sidecar/pending.js';
import * as sidecarLayout from '../src/sidecar/layout.js';

const CAP = 1024;

function pair(): { ring: Ring; buffer: SharedArrayBuffer; tail: () => number } {
  const buffer = new SharedArrayBuffer(Ring.segmentSize(CAP) + 128);
  const ring = Ring.create(buffer, { capacity: CAP, byteOffset: 128 });
  const words = new Int32Array(buffer);
  return { ring, buffer, tail: () => Atomics.load(words, (128 + RING_TAIL_OFFSET) / 4) >>> 0 };
}

describe('Ring.commit(type, false)', () => {
  test('a claimed record committed without publication stays invisible until publish()', () => {
    const { ring, tail } = pair();
    const slot = ring.claim(3)!;
    slot.set([1, 2, 3]);
    ring.commit(9, false);
    assert.equal(tail(), 0, 'tail not stored');
    assert.equal(ring.peek(), null);
    ring.publish();
    const record = ring.peek();
    assert.ok(record !== null);
    assert.equal(record.type, 9);
    assert.deepEqual([...record.payload], [1, 2, 3]);
  });

  test('staged claims and staged records keep their order and a later commit() publishes them all', () => {
    const { ring } = pair();
    ring.claim(1)![0] = 10;
    ring.commit(1, false);
    ring.stage(2, new Uint8Array([20]));
    ring.claim(1)![0] = 30;
    ring.commit(3);
    const seen: [number, number][] = [];
    assert.equal(ring.drain((type, payload) => void seen.push([type, payload[0]!])), 3);
    assert.deepEqual(seen, [[1, 10], [2, 20], [3, 30]]);
  });

  test('closeProducer() publishes a staged claim', () => {
    const { ring } = pair();
    ring.claim(0);
    ring.commit(4, false);
    ring.closeProducer();
    assert.equal(ring.peek()?.type, 4);
  });
});

describe('payload views', () => {
  test('drain, peek and claim views are Uint8Arrays at the record\'s place in the buffer', () => {
    const { ring, buffer } = pair();
    const slot = ring.claim(5)!;
    assert.equal(slot.buffer, buffer);
    assert.equal(slot.byteOffset, 128 + RING_DATA_OFFSET + 8);
    assert.equal(slot.length, 5);
    slot.set([5, 4, 3, 2, 1]);
    ring.commit(1);
    const peeked = ring.peek()!.payload;
    assert.ok(peeked instanceof Uint8Array);
    assert.equal(peeked.buffer, buffer);
    assert.equal(peeked.byteOffset, slot.byteOffset);
    assert.deepEqual([...peeked], [5, 4, 3, 2, 1]);
    ring.drain((_type, payload) => {
      assert.equal(payload.byteOffset, slot.byteOffset);
      assert.equal(payload.length, 5);
    });
  });
});

describe('PendingRequests', () => {
  const noWithdraw = (): string => 'nothing to withdraw.';
  /** Registers a request under the next free id, as Sidecar.request() does once its command is written. */
  const add = (pending: PendingRequests, timeout?: number): Promise<Uint8Array> => pending.add(pending.nextId(), 0, timeout, undefined);

  test('ids increase from 1 and a reply settles only its own request', async () => {
    const pending = new PendingRequests(noWithdraw);
    assert.equal(pending.nextId(), 1);
    const a = add(pending);
    assert.equal(pending.nextId(), 2);
    const b = add(pending);
    assert.equal(pending.size, 2);
    assert.equal(pending.resolve(2, new Uint8Array([2])), true);
    assert.equal(pending.resolve(2, new Uint8Array([9])), false, 'a duplicate reply finds nothing');
    assert.equal(pending.resolve(3, new Uint8Array([9])), false, 'an unknown id finds nothing');
    assert.deepEqual([...(await b)], [2]);
    assert.equal(pending.size, 1);
    assert.equal(pending.resolve(1, new Uint8Array([1])), true);
    assert.deepEqual([...(await a)], [1]);
    assert.equal(pending.size, 0);
  });

  test('more requests than slots in flight: every one is found by its id, and failAll rejects in request order', async () => {
    const pending = new PendingRequests(noWithdraw);
    const N = 10_000; // more than the 4096 slots: ids 4097… share slots with ids 1…
    const promises = Array.from({ length: N }, () => add(pending));
    assert.equal(pending.size, N);
    for (let id = N; id > N / 2; id--) assert.equal(pending.resolve(id, new Uint8Array([id & 0xff])), true);
    for (let id = N; id > N / 2; id--) assert.equal((await promises[id - 1]!)[0], id & 0xff);
    const order: number[] = [];
    pending.failAll((id) => {
      order.push(id);
      return new Error(`failed ${id}`);
    });
    assert.deepEqual(order, Array.from({ length: N / 2 }, (_, i) => i + 1));
    for (let id = 1; id <= N / 2; id++) await assert.rejects(promises[id - 1]!, { message: `failed ${id}` });
    assert.equal(pending.size, 0);
  });

  test('ids wrap from MAX_REQUEST_ID to 1 (bit 31 is the claim bit) and skip an id still pending', () => {
    const pending = new PendingRequests(noWithdraw);
    void add(pending).catch(() => {}); // id 1 stays pending
    void pending.add(sidecarLayout.MAX_REQUEST_ID, 0, undefined, undefined).catch(() => {});
    assert.equal(pending.nextId(), 2, 'after MAX_REQUEST_ID comes 1, which is still pending, so 2');
    pending.failAll(() => new Error('end'));
  });

  test('a timeout asks to withdraw the command, then rejects with ERR_TIMEOUT saying what became of it, and frees its id', async () => {
    const withdrawn: number[] = [];
    const pending = new PendingRequests((entry) => {
      withdrawn.push(entry.id);
      return 'its command was withdrawn.';
    });
    const p = add(pending, 5);
    await assert.rejects(p, { code: 'ERR_TIMEOUT', message: /no reply within its timeout of 5 ms; its command was withdrawn\./ });
    assert.deepEqual(withdrawn, [1]);
    assert.equal(pending.size, 0);
    assert.equal(pending.resolve(1, new Uint8Array(0)), false);
  });
});
