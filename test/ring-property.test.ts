// Model-based property tests of the TypeScript Ring: random operation sequences against a plain FIFO model, with
// random capacities, max payloads and initial positions near the u32 wrap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ring } from '../src/ring/ring.js';
import { RECORD_TYPE_MAX_USER, RING_MIN_CAPACITY, maxPayloadFor, recordSize } from '../src/ring/layout.js';

type Op =
  | { kind: 'tryWrite' | 'stage'; type: number; length: number; seed: number }
  | { kind: 'fit'; via: 'tryWrite' | 'claim'; target: 'toEnd' | 'free'; delta: number; type: number; seed: number }
  | { kind: 'publish' }
  | { kind: 'claim'; length: number; seed: number }
  | { kind: 'commit'; type: number }
  | { kind: 'abort' }
  | { kind: 'peek' }
  | { kind: 'release' }
  | { kind: 'drain'; limit: number | undefined };

interface ModelRecord {
  type: number;
  payload: Uint8Array;
  start: number; // position of its header (after the padding before it, if any)
  end: number; // position after the record
}

/** The model: what a correct ring holds, and where its positions are. */
class Model {
  published: ModelRecord[] = [];
  staged: ModelRecord[] = [];
  tail: number; // producer's local position (past staged records)
  head: number; // position the consumer last stored
  claim: { length: number; payload: Uint8Array; start: number } | null = null;
  peeked = false;

  constructor(readonly capacity: number, initial: number) {
    this.tail = initial;
    this.head = initial;
  }

  /** Where a record of `length` would start, or -1 if the ring has no room (free < needed, counting padding). */
  reserve(length: number): number {
    const size = recordSize(length);
    const idx = this.tail % this.capacity;
    const toEnd = this.capacity - idx;
    const needed = size <= toEnd ? size : toEnd + size;
    const free = this.capacity - ((this.tail - this.head) >>> 0);
    if (free < needed) return -1;
    return size <= toEnd ? this.tail : (this.tail + toEnd) >>> 0;
  }

  stage(type: number, payload: Uint8Array, start: number): void {
    this.tail = (start + recordSize(payload.length)) >>> 0;
    this.staged.push({ type, payload, start, end: this.tail });
  }

  publish(): void {
    this.published.push(...this.staged);
    this.staged = [];
  }

  consume(): ModelRecord {
    const record = this.published.shift()!;
    this.head = record.end;
    return record;
  }
}

function payloadOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    out[i] = x >>> 24;
  }
  return out;
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/**
 * Turns a 'fit' op into a write whose record size is at (delta bytes around) a boundary of the current state: the
 * bytes left before the end of the data area, or the free bytes. Exact fits and one-too-many are where bugs hide.
 */
function boundaryOp(op: Extract<Op, { kind: 'fit' }>, model: Model, maxPayload: number): Op {
  const idx = model.tail % model.capacity;
  const room = op.target === 'toEnd' ? model.capacity - idx : model.capacity - ((model.tail - model.head) >>> 0);
  const length = Math.max(0, Math.min(maxPayload, room - 8 + op.delta));
  return op.via === 'claim' ? { kind: 'claim', length, seed: op.seed } : { kind: 'tryWrite', type: op.type, length, seed: op.seed };
}

const typeArb = fc.integer({ min: 0, max: RECORD_TYPE_MAX_USER });

function opArb(maxPayload: number): fc.Arbitrary<Op> {
  // Mostly small payloads (many records per lap of the ring), sometimes large ones (padding and full rings).
  const length = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: Math.min(64, maxPayload) }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: maxPayload }) });
  const seed = fc.integer();
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('tryWrite' as const), type: typeArb, length, seed }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('stage' as const), type: typeArb, length, seed }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('fit' as const),
        via: fc.constantFrom('tryWrite' as const, 'claim' as const),
        target: fc.constantFrom('toEnd' as const, 'free' as const),
        delta: fc.integer({ min: -9, max: 9 }),
        type: typeArb,
        seed,
      }),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'publish' as const }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('claim' as const), length, seed }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), type: typeArb }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'abort' as const }) },
    { weight: 3, arbitrary: fc.constant({ kind: 'peek' as const }) },
    { weight: 3, arbitrary: fc.constant({ kind: 'release' as const }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('drain' as const), limit: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }) }) },
  );
}

const scenarioArb = fc
  .record({
    capacityLog: fc.integer({ min: Math.log2(RING_MIN_CAPACITY), max: Math.log2(RING_MIN_CAPACITY) + 3 }),
    maxPayloadFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    // Within a few laps below 2^32 (or anywhere, sometimes), in records of 8 bytes.
    start: fc.oneof(fc.integer({ min: 0, max: 4096 }).map((k) => 2 ** 32 - 8 * k), fc.integer({ min: 0, max: 2 ** 29 - 1 }).map((k) => 8 * k)),
    twoObjects: fc.boolean(),
  })
  .chain((s) => {
    const capacity = 2 ** s.capacityLog;
    const maxPayload = Math.max(1, Math.floor(maxPayloadFor(capacity) * s.maxPayloadFraction));
    return fc.record({
      capacity: fc.constant(capacity),
      maxPayload: fc.constant(maxPayload),
      start: fc.constant(s.start % 2 ** 32),
      twoObjects: fc.constant(s.twoObjects),
      ops: fc.array(opArb(maxPayload), { minLength: 1, maxLength: 300, size: 'max' }),
    });
  });

test('random operation sequences behave like a FIFO queue: no loss, no duplication, bytes intact, full exactly when the model has no room', () => {
  fc.assert(
    fc.property(scenarioArb, ({ capacity, maxPayload, start, twoObjects, ops }) => {
      const buffer = new ArrayBuffer(Ring.segmentSize(capacity));
      const producer = Ring.create(buffer, { capacity, maxPayload, initialPosition: start });
      const consumer = twoObjects ? Ring.attach(buffer) : producer;
      const model = new Model(capacity, start);

      for (const original of ops) {
        const op = original.kind === 'fit' ? boundaryOp(original, model, maxPayload) : original;
        switch (op.kind) {
          case 'tryWrite':
          case 'stage': {
            const payload = payloadOf(op.length, op.seed);
            if (model.claim) {
              assert.equal(errorCode(() => producer[op.kind](op.type, payload)), 'ERR_INVALID_STATE');
              break;
            }
            const at = model.reserve(op.length);
            const ok = producer[op.kind](op.type, payload);
            assert.equal(ok, at >= 0, `${op.kind} of ${op.length} bytes: ring says ${ok}, model free says ${at >= 0}`);
            if (ok) {
              model.stage(op.type, payload, at);
              if (op.kind === 'tryWrite') model.publish();
            }
            break;
          }
          case 'publish':
            producer.publish();
            model.publish();
            break;
          case 'claim': {
            if (model.claim) {
              assert.equal(errorCode(() => producer.claim(op.length)), 'ERR_INVALID_STATE');
              break;
            }
            const at = model.reserve(op.length);
            const view = producer.claim(op.length);
            assert.equal(view !== null, at >= 0, `claim of ${op.length} bytes`);
            if (view) {
              assert.equal(view.length, op.length);
              assert.equal(view.byteOffset % 8, 0);
              const payload = payloadOf(op.length, op.seed);
              view.set(payload);
              model.claim = { length: op.length, payload, start: at };
            }
            break;
          }
          case 'commit':
            if (!model.claim) {
              assert.equal(errorCode(() => producer.commit(op.type)), 'ERR_INVALID_STATE');
              break;
            }
            producer.commit(op.type);
            model.stage(op.type, model.claim.payload, model.claim.start);
            model.publish();
            model.claim = null;
            break;
          case 'abort':
            producer.abort();
            model.claim = null;
            break;
          case 'peek': {
            const record = consumer.peek();
            const expected = model.published[0];
            if (expected === undefined) {
              assert.equal(record, null);
              model.peeked = false;
            } else {
              assert.ok(record, 'a published record is visible');
              assert.equal(record.type, expected.type);
              assert.deepEqual(record.payload, expected.payload);
              model.peeked = true;
              model.head = expected.start; // peek() hands the padding before the record back (§4 "Padding")
            }
            break;
          }
          case 'release':
            if (!model.peeked) {
              assert.equal(errorCode(() => consumer.release()), 'ERR_INVALID_STATE');
              break;
            }
            consumer.release();
            model.consume();
            model.peeked = false;
            break;
          case 'drain': {
            const got: Array<{ type: number; payload: Uint8Array }> = [];
            const n = consumer.drain((type, payload) => void got.push({ type, payload: payload.slice() }), op.limit);
            const want = Math.min(op.limit ?? Infinity, model.published.length);
            assert.equal(n, want);
            for (const record of got) {
              const expected = model.consume();
              assert.equal(record.type, expected.type);
              assert.deepEqual(record.payload, expected.payload);
            }
            model.peeked = false;
            break;
          }
        }
      }
      // Finally everything published is delivered, in order, and nothing else.
      if (model.claim) producer.abort();
      producer.publish();
      model.publish();
      const rest: Array<{ type: number; payload: Uint8Array }> = [];
      consumer.drain((type, payload) => void rest.push({ type, payload: payload.slice() }));
      assert.deepEqual(
        rest,
        model.published.map(({ type, payload }) => ({ type, payload })),
      );
    }),
    { numRuns: 300 },
  );
});
