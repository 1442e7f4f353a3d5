/**
 * The pool's queue bound and its argument errors (issue 12): with every member busy, maxQueue requests wait and one
 * more rejects with ERR_QUEUE_FULL without ever running; every bad argument of start(), request(), send(),
 * broadcast() and stop() is a SidecarError ERR_INVALID_ARG whose sentence names it (thrown synchronously by the
 * methods, a rejection of start()), and leaves no state behind.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SidecarPool } from '../src/index.js';
import { MODES, resourceCounts } from './helpers/sidecar-env.js';
import { FAULTY, SLEEP, decode, deliveryCounter, guardUnhandledRejections, hasCode, sleepFor, tagOf } from './helpers/pool-env.js';
import { isArgumentError } from './helpers/guards.js';

guardUnhandledRejections();


for (const mode of MODES) {
  describe(`the pool queue bound (${mode} mode)`, () => {
    test('with every member busy, maxQueue requests wait and one more rejects with ERR_QUEUE_FULL and never runs', async () => {
      const counter = deliveryCounter();
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, concurrency: 1, maxQueue: 3, host: counter.host });
      try {
        const busy = [pool.request(sleepFor(300, 'busy 0'), { type: SLEEP }), pool.request(sleepFor(300, 'busy 1'), { type: SLEEP })];
        const queued = [0, 1, 2].map((i) => pool.request(`queued ${i}`));
        assert.equal(pool.stats().queued, 3);
        assert.equal(pool.stats().inFlight, 2);
        await assert.rejects(async () => pool.request('one too many'), hasCode('ERR_QUEUE_FULL'));
        await assert.rejects(async () => pool.send('one too many send'), hasCode('ERR_QUEUE_FULL'));
        assert.equal(pool.stats().queued, 3, 'the refused ones were not queued');
        assert.deepEqual((await Promise.all(busy)).map(tagOf), ['busy 0', 'busy 1']);
        assert.deepEqual((await Promise.all(queued)).map(decode), ['queued 0', 'queued 1', 'queued 2']);
        // Room again: the next request is accepted.
        assert.equal(decode(await pool.request('room again')), 'room again');
        assert.equal(counter.counts.get('one too many'), undefined);
        assert.equal(counter.counts.get('one too many send'), undefined);
        assert.equal(pool.stats().completed, 6);
      } finally {
        await pool.stop();
      }
    });

    test('maxQueue 0 refuses a request at once when every member is busy, and accepts one when a member is free', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, concurrency: 1, maxQueue: 0 });
      try {
        const busy = pool.request(sleepFor(200, 'busy'), { type: SLEEP });
        await assert.rejects(async () => pool.request('refused'), hasCode('ERR_QUEUE_FULL'));
        assert.equal(tagOf(await busy), 'busy');
        assert.equal(decode(await pool.request('accepted')), 'accepted');
      } finally {
        await pool.stop();
      }
    });
  });

  describe(`the pool queue's byte bound and the command size (${mode} mode)`, () => {
    test('with every member busy, payloads beyond maxQueueBytes reject with ERR_QUEUE_FULL; a smaller one still fits', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, concurrency: 1, maxQueueBytes: 100 });
      try {
        const busy = pool.request(sleepFor(300, 'busy'), { type: SLEEP });
        const first = pool.request('a'.repeat(60));
        await assert.rejects(async () => pool.request('b'.repeat(60)), hasCode('ERR_QUEUE_FULL'));
        const small = pool.request('c'.repeat(30));
        assert.equal(tagOf(await busy), 'busy');
        assert.equal(decode(await first), 'a'.repeat(60));
        assert.equal(decode(await small), 'c'.repeat(30));
      } finally {
        await pool.stop();
      }
    });

    test('a command larger than maxCommandBytes is thrown synchronously as ERR_RING_TOO_BIG and nothing is queued', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, commandRingBytes: 4096, eventRingBytes: 4096 });
      try {
        assert.ok(pool.maxCommandBytes > 0 && pool.maxCommandBytes < 4096, `maxCommandBytes ${pool.maxCommandBytes}`);
        const big = new Uint8Array(pool.maxCommandBytes + 1);
        assert.throws(() => pool.request(big), hasCode('ERR_RING_TOO_BIG'));
        assert.throws(() => pool.send(big), hasCode('ERR_RING_TOO_BIG'));
        assert.equal(pool.stats().queued, 0);
        const largest = new Uint8Array(pool.maxCommandBytes).fill(7);
        assert.deepEqual(await pool.request(largest), largest);
      } finally {
        await pool.stop();
      }
    });
  });

  describe(`argument errors of the pool (${mode} mode)`, () => {
    test('every bad option makes SidecarPool.start() reject with ERR_INVALID_ARG naming it, and leaves nothing behind', async () => {
      const plugin = FAULTY;
      const cases: [string, unknown][] = [
        ['options', undefined],
        ['options', 'faulty.so'],
        ['options.plugin', { mode }],
        ['options.size', { plugin, mode, size: 0 }],
        ['options.size', { plugin, mode, size: 1.5 }],
        ['options.size', { plugin, mode, size: 'two' }],
        ['options.size.max', { plugin, mode, size: { min: 1, max: 0 } }],
        ['options.size.min', { plugin, mode, size: { min: 3, max: 2 } }],
        ['options.size.min', { plugin, mode, size: { min: -1, max: 2 } }],
        ['options.size.mx', { plugin, mode, size: { min: 1, mx: 2 } }],
        ['options.concurrency', { plugin, mode, concurrency: 0 }],
        ['options.concurrency', { plugin, mode, concurrency: 2.5 }],
        ['options.maxQueue', { plugin, mode, maxQueue: -1 }],
        ['options.idleTimeoutMs', { plugin, mode, idleTimeoutMs: 0 }],
        ['options.statsIntervalMs', { plugin, mode, statsIntervalMs: 'often' }],
        ['options.commandRingBytes', { plugin, mode, commandRingBytes: 3000 }],
        ['options.sise', { plugin, mode, sise: 2 }],
        ['options.concurency', { plugin, mode, concurency: 2 }],
      ];
      const before = resourceCounts();
      for (const [name, options] of cases) {
        await assert.rejects(SidecarPool.start(options as never), isArgumentError(name), JSON.stringify(options));
      }
      const left = resourceCounts();
      assert.equal(left.fds, before.fds, 'no descriptor left behind');
      assert.equal(left.memfdMappings, before.memfdMappings, 'no region left mapped');
    });

    test('every bad argument of request(), send(), broadcast() and stop() is thrown synchronously as ERR_INVALID_ARG naming it, and nothing is queued or sent', async () => {
      const counter = deliveryCounter();
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, host: counter.host });
      try {
        const cases: [string, () => unknown][] = [
          ['data', () => pool.request(42 as never)],
          ['data', () => pool.send(null as never)],
          ['data', () => pool.broadcast({ length: 1 } as never)],
          ['options', () => pool.request('x', 'fast' as never)],
          ['options', () => pool.send('x', 1 as never)],
          ['options.type', () => pool.request('x', { type: -1 })],
          ['options.type', () => pool.send('x', { type: 2 ** 32 })],
          ['options.type', () => pool.broadcast('x', { type: 1.5 })],
          ['options.timeout', () => pool.request('x', { timeout: 0 })],
          ['options.timeout', () => pool.request('x', { timeout: Infinity })],
          ['options.deadlineMs', () => pool.request('x', { deadlineMs: Number.NaN })],
          ['options.deadlineMs', () => pool.request('x', { deadlineMs: '1s' as never })],
          ['options.signal', () => pool.request('x', { signal: {} as never })],
          ['options.key', () => pool.request('x', { key: {} as never })],
          ['options.key', () => pool.request('x', { key: Number.NaN })],
          ['options.key', () => pool.send('x', { key: null as never })],
          ['options.kee', () => pool.request('x', { kee: 'a' } as never)],
          ['options.timeout', () => pool.send('x', { timeout: 100 } as never)],
          ['options.key', () => pool.broadcast('x', { key: 'a' } as never)],
          ['options.timeout', () => pool.stop({ timeout: 0 })],
          ['options.drain', () => pool.stop({ drain: 'no' as never })],
          ['options.drian', () => pool.stop({ drian: false } as never)],
        ];
        for (const [name, call] of cases) assert.throws(call, isArgumentError(name), `${name}: ${call.toString()}`);
        const stats = pool.stats();
        assert.equal(stats.queued, 0);
        assert.equal(stats.inFlight, 0);
        assert.equal(stats.completed + stats.failed, 0);
        // stop() was refused each time: the pool still serves, and none of the refused commands reached the plugin.
        assert.equal(decode(await pool.request('still here')), 'still here');
        assert.deepEqual([...counter.counts.keys()], ['still here']);
      } finally {
        await pool.stop();
      }
    });
  });
}
