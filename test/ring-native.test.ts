import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Ring, SharedRegion, regionLayout as L } from '../src/index.js';
import type { WaitPolicy } from '../src/index.js';
import { startProcessPeer, startThreadPeer, ringPeerPath, type PeerHandle, type PeerResult } from '../src/testing/peers.js';
import { STRESS_TYPE, fillStressPayload, stressLength, xorshift32 } from './helpers/stress-payload.js';
import { consumeStressRecords } from './helpers/stress-consumer.js';

/** Records per stress run (the issue asks for at least 1,000,000). */
const RECORDS = 1_000_000;
/** Payloads are 8..MAX_LENGTH bytes: small enough to keep the JS checksum cost low, large enough to wrap often. */
const MAX_LENGTH = 200;
/** A small ring so that it runs full and empty, and wraps, many thousands of times per run. */
const CAPACITY = 16 * 1024;
/** Positions start this close to 2^32, so every run crosses the u32 wrap. */
const NEAR_WRAP = 2 ** 32 - 4096;
/** A stuck run (a lost wake-up) fails: the JS side's waits and the peer's idle limit are bounded, and so is the test. */
const WAIT_MS = 20_000;
const BOUND = { timeout: 300_000 };

const POLICIES: WaitPolicy[] = [{ mode: 'park' }, { mode: 'spin-then-park' }];

function regionWithRings(count: number): SharedRegion {
  const size = L.REGION_HEADER_SIZE + count * (Ring.segmentSize(CAPACITY) + L.SEGMENT_ALIGN);
  return SharedRegion.create({ size: Math.max(size, L.REGION_MIN_SIZE) });
}

/** Writes `count` stress records of random length, staging in batches, waiting (per the ring's policy) when full. */
async function produceJs(ring: Ring, count: number, seed: number): Promise<void> {
  const next = xorshift32(seed);
  const scratch = new Uint8Array(MAX_LENGTH);
  for (let seq = 0; seq < count; seq++) {
    const payload = scratch.subarray(0, stressLength(next, MAX_LENGTH));
    fillStressPayload(payload, seq);
    if (!ring.stage(STRESS_TYPE, payload)) await ring.write(STRESS_TYPE, payload, { timeout: WAIT_MS });
    if ((seq & 63) === 63) ring.publish();
  }
  ring.closeProducer();
}

function assertPeer(result: PeerResult, records: number): void {
  assert.equal(result.error, null);
  assert.equal(result.code, 'ok');
  assert.equal(result.ok, true);
  assert.equal(result.records, records);
}

type Start = (region: SharedRegion, options: Parameters<typeof startThreadPeer>[1]) => PeerHandle;
const KINDS: Array<[string, Start]> = [
  ['a native thread', (region, options) => startThreadPeer(region, options)],
  ['a native process', (region, options) => startProcessPeer(region, options)],
];

for (const [kind, start] of KINDS) {
  for (const policy of POLICIES) {
    describe(`JS ↔ ${kind}, ${policy.mode}`, () => {
      test(`${RECORDS} records of random sizes from JS to ${kind} arrive complete, in order and intact`, BOUND, async () => {
        using region = regionWithRings(1);
        const ring = region.createRing(CAPACITY, { initialPosition: NEAR_WRAP, waitPolicy: policy });
        const peer = start(region, { mode: 'verify', input: 0, count: RECORDS, waitPolicy: policy, idleTimeoutMs: WAIT_MS });
        try {
          await produceJs(ring, RECORDS, 12345);
        } finally {
          ring.closeProducer();
        }
        assertPeer(await peer.done, RECORDS);
      });

      test(`${RECORDS} records of random sizes from ${kind} to JS arrive complete, in order and intact`, BOUND, async () => {
        using region = regionWithRings(1);
        const ring = region.createRing(CAPACITY, { initialPosition: NEAR_WRAP, waitPolicy: policy });
        const peer = start(region, {
          mode: 'produce', output: 0, count: RECORDS, maxLength: MAX_LENGTH, seed: 777, waitPolicy: policy, idleTimeoutMs: WAIT_MS,
        });
        let received: number;
        try {
          received = await consumeStressRecords(ring, WAIT_MS);
        } finally {
          ring.closeConsumer();
        }
        assert.equal(received, RECORDS);
        assertPeer(await peer.done, RECORDS);
      });
    });
  }
}

describe('native peers', () => {
  test('an echo peer returns every record unchanged, through a thread and through a process', BOUND, async () => {
    for (const [, start] of KINDS) {
      using region = regionWithRings(2);
      const toPeer = region.createRing(CAPACITY, { waitPolicy: { mode: 'park' } });
      const fromPeer = region.createRing(CAPACITY, { waitPolicy: { mode: 'park' } });
      const peer = start(region, { mode: 'echo', input: 0, output: 1, waitPolicy: { mode: 'park' }, idleTimeoutMs: WAIT_MS });
      const count = 50_000;
      const [, received] = await Promise.all([produceJs(toPeer, count, 99), consumeStressRecords(fromPeer, WAIT_MS)]);
      assert.equal(received, count);
      assertPeer(await peer.done, count);
    }
  });

  test('a verify peer reports a corrupted record instead of accepting it, and closes its ring', BOUND, async () => {
    using region = regionWithRings(1);
    const ring = region.createRing(CAPACITY);
    const peer = startThreadPeer(region, { mode: 'verify', input: 0, idleTimeoutMs: WAIT_MS });
    const payload = new Uint8Array(64);
    fillStressPayload(payload, 0);
    await ring.write(STRESS_TYPE, payload);
    fillStressPayload(payload, 1);
    payload[40] = payload[40]! ^ 1;
    await ring.write(STRESS_TYPE, payload);
    const result = await peer.done;
    assert.equal(result.ok, false);
    assert.equal(result.code, 'verify-failed');
    assert.equal(result.records, 1);
    assert.match(result.error ?? '', /record 1 .*checksum/);
    // The peer closed its end: a writer that fills the ring learns it instead of waiting forever.
    await assert.rejects(async () => {
      for (;;) await ring.write(STRESS_TYPE, payload, { timeout: WAIT_MS });
    }, { code: 'ERR_RING_CLOSED' });
  });

  test('a peer reports a stream that ends early, and a stopped thread peer reports that it stopped', BOUND, async () => {
    using region = regionWithRings(2);
    const a = region.createRing(CAPACITY);
    region.createRing(CAPACITY);
    const short = startProcessPeer(region, { mode: 'sink', input: 0, count: 10 });
    await produceJs(a, 3, 1);
    const result = await short.done;
    assert.equal(result.code, 'count-mismatch');
    const idle = startThreadPeer(region, { mode: 'sink', input: 1, waitPolicy: { mode: 'park' } });
    idle.stop();
    assert.equal((await idle.done).code, 'stopped');
  });

  test('peers refuse bad options and rings that fail validation', async () => {
    using region = regionWithRings(1);
    region.addSegment(L.SEGMENT_KIND_RING, Ring.segmentSize(CAPACITY)); // all zeros: not an initialised ring
    assert.throws(() => startThreadPeer(region, { mode: 'verify', input: 0 }), { code: 'ERR_RING_CORRUPT' });
    assert.throws(() => startThreadPeer(region, { mode: 'verify', input: 5 }), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => startThreadPeer(region, { mode: 'nope' as never, input: 0 }), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => startThreadPeer(region, { mode: 'produce' }), { code: 'ERR_INVALID_ARG' });
    const result = await startProcessPeer(region, { mode: 'verify', input: 0 }).done;
    assert.equal(result.ok, false);
    assert.match(result.error ?? '', /not a valid ring/);
  });

  test('the ring_peer process exits by itself when its parent is killed', BOUND, async () => {
    const script = `
      import { SharedRegion, Ring } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
      import { startProcessPeer } from ${JSON.stringify(new URL('../src/testing/peers.js', import.meta.url).href)};
      const region = SharedRegion.create({ size: 65536 });
      region.createRing(16384);
      const peer = startProcessPeer(region, { mode: 'sink', input: 0, idleTimeoutMs: -1, waitPolicy: { mode: 'park' } });
      console.log(peer.child.pid);
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    assert.ok(pid > 0);
    assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /ring_peer/);
    parent.kill('SIGKILL');
    await new Promise((r) => parent.once('exit', r));
    // Gone, or a zombie waiting for its new parent to reap it: either way it no longer runs.
    const alive = (): boolean => {
      try {
        return !/^\d+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 200 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(), false, 'ring_peer outlived its parent');
  });

  test('process.exit and worker termination with thread peers running exit cleanly', BOUND, () => {
    const index = JSON.stringify(new URL('../src/index.js', import.meta.url).href);
    const peers = JSON.stringify(new URL('../src/testing/peers.js', import.meta.url).href);
    const start = `
      const region = SharedRegion.create({ size: 65536 }); region.createRing(16384); region.createRing(16384);
      startThreadPeer(region, { mode: 'sink', input: 0, waitPolicy: { mode: 'park' }, idleTimeoutMs: -1 });
      startThreadPeer(region, { mode: 'produce', output: 1, count: 1e9, waitPolicy: { mode: 'spin' }, idleTimeoutMs: -1 });`;
    const exit = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { SharedRegion } from ${index}; import { startThreadPeer } from ${peers};
      ${start}
      setTimeout(() => process.exit(5), 50);`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(exit.signal, null, exit.stderr);
    assert.equal(exit.status, 5, exit.stderr);
    const worker = `Promise.all([import(${index}), import(${peers})]).then(([{ SharedRegion }, { startThreadPeer }]) => {
      ${start}
      require('node:worker_threads').parentPort.postMessage('running');
    });`;
    const terminate = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { Worker } from 'node:worker_threads';
      for (let i = 0; i < 5; i++) {
        const w = new Worker(${JSON.stringify(worker)}, { eval: true, execArgv: [] });
        await new Promise((r) => w.once('message', r));
        await w.terminate();
      }
      console.log('done');`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(terminate.signal, null, terminate.stderr);
    assert.equal(terminate.status, 0, terminate.stderr);
    assert.equal(terminate.stdout.trim(), 'done');
  });

  test('the ring_peer executable is built', () => {
    assert.ok(existsSync(ringPeerPath()));
  });
});
