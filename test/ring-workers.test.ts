// JS worker ↔ JS worker stress test of the TypeScript ring over a SharedArrayBuffer: one million records of random
// sizes carrying sequence numbers and checksums (test/helpers/stress-payload.ts); any loss, duplication, reordering
// or corruption fails the test, and so does running past its time budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { Ring } from '../src/ring/ring.js';
import { RING_DATA_SEQ_OFFSET, RING_SPACE_SEQ_OFFSET } from '../src/ring/layout.js';
import type { StressWorkerData, StressWorkerResult } from './helpers/ring-stress-worker.js';

const RECORDS = 1_000_000;
const BUDGET_MS = 120_000;

function run(data: StressWorkerData): { worker: Worker; result: Promise<StressWorkerResult> } {
  const worker = new Worker(new URL('./helpers/ring-stress-worker.js', import.meta.url), { workerData: data });
  const result = new Promise<StressWorkerResult>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the ${data.role} worker exited with code ${code} before reporting`)));
  });
  return { worker, result };
}

async function stress(
  capacity: number,
  maxLength: number,
  initialPosition: number,
  seed: number,
  asyncMode?: StressWorkerData['asyncMode'],
  records = RECORDS,
): Promise<SharedArrayBuffer> {
  const buffer = new SharedArrayBuffer(Ring.segmentSize(capacity));
  Ring.create(buffer, { capacity, initialPosition });
  const common = { buffer, count: records, maxLength, seed, deadlineMs: BUDGET_MS - 10_000, ...(asyncMode ? { asyncMode } : {}) };
  const consumer = run({ ...common, role: 'consumer' });
  const producer = run({ ...common, role: 'producer' });
  let timer: NodeJS.Timeout | undefined;
  const overall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the stress run did not finish within ${BUDGET_MS} ms`)), BUDGET_MS);
  });
  try {
    const [p, c] = await Promise.race([Promise.all([producer.result, consumer.result]), overall]);
    assert.equal(p.error, null, `producer: ${p.error}`);
    assert.equal(c.error, null, `consumer: ${c.error}`);
    assert.equal(p.records, records);
    assert.equal(c.records, records);
    return buffer;
  } finally {
    clearTimeout(timer);
    await Promise.allSettled([producer.worker.terminate(), consumer.worker.terminate()]);
  }
}

test('one million random-size records pass from a producer worker to a consumer worker intact and in order, across the u32 wrap', { timeout: BUDGET_MS + 10_000 }, async () => {
  await stress(64 * 1024, 256, 2 ** 32 - 64 * 1024, 0x9e3779b9);
});

test('one million records pass through a minimum-size ring where records of up to maxPayload force constant padding and full-ring waits', { timeout: BUDGET_MS + 10_000 }, async () => {
  const capacity = 1024;
  await stress(capacity, capacity / 2 - 8, 2 ** 32 - 8 * 1000, 12345);
});

for (const mode of ['park', 'spin-then-park'] as const) {
  test(`records pass between workers that wait with write()/readable() in ${mode} mode through the native parker, with no lost wake-up`, { timeout: BUDGET_MS + 10_000 }, async () => {
    // A lost wake-up leaves one side parked with no timeout short of the budget: the run then fails on the budget.
    const buffer = await stress(4096, 600, 2 ** 32 - 4096, 777, mode, 100_000);
    // Each side's sequence word counts the wake-ups it received (plus one for the producer's close): both parked.
    const words = new Int32Array(buffer);
    const wakesOfConsumer = words[RING_DATA_SEQ_OFFSET / 4]! - 1;
    const wakesOfProducer = words[RING_SPACE_SEQ_OFFSET / 4]!;
    assert.ok(wakesOfConsumer > 0 && wakesOfProducer > 0, `consumer woken ${wakesOfConsumer}, producer woken ${wakesOfProducer} times`);
  });
}

test('the stress verifier rejects a wrong sequence number, a changed byte, a wrong checksum and a wrong type', async () => {
  const { makeStressPayload, checkStressRecord, fnv1a32, STRESS_TYPE } = await import('./helpers/stress-payload.js');
  const good = makeStressPayload(7, 40);
  assert.equal(checkStressRecord(STRESS_TYPE, good, 7), null);
  assert.equal(new DataView(good.buffer).getUint32(4, true), fnv1a32(good, 8));
  assert.match(checkStressRecord(STRESS_TYPE, good, 8) ?? '', /expected record 8/);
  assert.match(checkStressRecord(2, good, 7) ?? '', /type/);
  const flipped = good.slice();
  flipped[20]! ^= 1;
  assert.match(checkStressRecord(STRESS_TYPE, flipped, 7) ?? '', /byte 20/);
  const badSum = good.slice();
  badSum[4]! ^= 1;
  assert.match(checkStressRecord(STRESS_TYPE, badSum, 7) ?? '', /checksum/);
  assert.match(checkStressRecord(STRESS_TYPE, good.subarray(0, 4), 7) ?? '', /shorter/);
  // FNV-1a-32 of "a" is 0xe40c292c (the published test value of the algorithm).
  assert.equal(fnv1a32(new TextEncoder().encode('a')), 0xe40c292c);
});
