/**
 * The adaptive spin of 'spin-then-park' (src/ring/spin-budget.ts): the budget follows what parked waits needed,
 * within [floor, spinMicros], and a Ring whose budget shrank still delivers every record.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_SPIN_BUDGET_MICROS, SpinBudget } from '../src/ring/spin-budget.js';
import { Ring } from '../src/ring/ring.js';
import { RING_MIN_CAPACITY } from '../src/ring/layout.js';
import { PollingParker } from './helpers/fake-parker.js';

describe('SpinBudget', () => {
  test('starts at the policy spin and a wait that parked briefly sets it to twice that wait, capped at the policy spin', () => {
    const b = new SpinBudget(50);
    assert.equal(b.micros, 50);
    b.afterPark(7.2);
    assert.equal(b.micros, 15);
    b.afterSpin(); // the grown budget caught the next one
    b.afterPark(40);
    assert.equal(b.micros, 50);
  });

  test('a wait that still parks right after the budget grew drops it to the floor (a peer that cannot run while this side spins)', () => {
    const b = new SpinBudget(50);
    b.afterPark(27); // e.g. co-located: the data came right after the spin ended
    assert.equal(b.micros, 50);
    b.afterPark(45); // grew and still parked
    assert.equal(b.micros, MIN_SPIN_BUDGET_MICROS);
    b.afterPark(3);
    assert.equal(b.micros, 6, 'then it may grow again');
    b.afterSpin();
    b.afterPark(3);
    assert.equal(b.micros, 6, 'a growth that a spin confirmed is not held against the next park');
  });

  test('waits that parked longer than the policy spin halve it down to the floor, and a short one brings it back', () => {
    const b = new SpinBudget(50);
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      b.afterPark(10_000);
      seen.push(b.micros);
    }
    assert.deepEqual(seen, [25, 12, 6, 3, 2, 2, 2, 2]);
    b.afterPark(0.4);
    assert.equal(b.micros, MIN_SPIN_BUDGET_MICROS, 'never below the floor');
    b.afterSpin();
    b.afterPark(4);
    assert.equal(b.micros, 8);
  });

  test('a policy spin of 0 stays 0 and one below the floor is its own floor', () => {
    const zero = new SpinBudget(0);
    zero.afterPark(1);
    zero.afterPark(1e6);
    assert.equal(zero.micros, 0);
    const one = new SpinBudget(1);
    one.afterPark(1e6);
    assert.equal(one.micros, 1);
  });
});

describe('a spin-then-park Ring with an adapted spin', () => {
  test('delivers every record, in order, across parks after idle gaps that shrank its spin', async () => {
    const capacity = RING_MIN_CAPACITY;
    const buffer = new ArrayBuffer(Ring.segmentSize(capacity));
    const parker = new PollingParker();
    const producer = Ring.create(buffer, { capacity, parker, waitPolicy: { mode: 'spin-then-park', spinMicros: 50 } });
    const consumer = Ring.attach(buffer, { parker, waitPolicy: { mode: 'spin-then-park', spinMicros: 50 } });
    const got: number[] = [];
    const reader = (async () => {
      while (got.length < 20) {
        assert.equal(await consumer.readable({ timeout: 5_000 }), true);
        consumer.drain((_type, payload) => void got.push(payload[0]!));
      }
    })();
    for (let i = 0; i < 20; i++) {
      // Gaps of a few milliseconds: every wait parks and lasts far longer than spinMicros, so the spin shrinks.
      await new Promise((resolve) => setTimeout(resolve, i < 10 ? 3 : 0));
      assert.ok(producer.tryWrite(1, new Uint8Array([i])));
      if (i === 9) {
        // The Ring's own budget (a private field, read here to show the wiring): the idle gaps shrank it.
        const budgets = (consumer as unknown as { spinBudgets: SpinBudget[] }).spinBudgets;
        assert.ok(budgets[1]!.micros < 50, `the consumer's spin shrank after parked waits (it is ${budgets[1]!.micros} µs)`);
      }
    }
    await reader;
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
    parker.close();
  });
});
