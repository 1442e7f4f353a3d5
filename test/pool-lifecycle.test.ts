/**
 * The life of a SidecarPool (issue 12): scaling between size.min and size.max (load starts members, idleTimeoutMs
 * stops the ones above min), stop() draining queued and in-flight requests (or rejecting the queued ones with
 * drain: false), requests after stop, Symbol.asyncDispose, broadcast() and events() across members.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SidecarPool, type MemberChange } from '../src/index.js';
import { MODES, eventually, processExists } from './helpers/sidecar-env.js';
import {
  FAULTY, HANG, IDENTIFY, SLEEP, decode, deliveryCounter, guardUnhandledRejections, hasCode, memberLog, nextMember, sleepFor, tagOf, who,
} from './helpers/pool-env.js';

guardUnhandledRejections();

for (const mode of MODES) {
  describe(`pool scaling (${mode} mode)`, () => {
    test('load starts a second member up to size.max, and idleTimeoutMs stops it again down to size.min', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: { min: 1, max: 2 }, concurrency: 1, idleTimeoutMs: 200 });
      try {
        const changes = memberLog(pool);
        assert.equal(pool.stats().size, 1, 'min 1: one member at the start');
        const started = nextMember(pool, (c) => c.what === 'started');
        const load = Array.from({ length: 6 }, (_, i) => pool.request(sleepFor(100, `load ${i}`), { type: SLEEP }));
        const change = await started;
        assert.equal(change.cause, 'scale');
        const replies = await Promise.all(load);
        assert.deepEqual(replies.map(tagOf), Array.from({ length: 6 }, (_, i) => `load ${i}`));
        assert.equal(pool.stats().members.filter((m) => m.completed > 0).length, 2, 'both members served the load');
        const stopped = (): MemberChange[] => changes.filter((c) => c.what === 'stopped');
        assert.ok(await eventually(() => stopped().length > 0, 10_000), 'an idle member stopped');
        assert.equal(pool.stats().size, 1, 'back to size.min');
        assert.equal(stopped().length, 1, 'only the member above min stopped');
        assert.equal(stopped()[0]!.cause, 'idle');
        // Which of the two idle members stops is not promised (the first whose idle timer fires).
        if (mode === 'process') assert.ok(await eventually(() => !processExists(stopped()[0]!.pid)), 'its process is gone');
        // The pool still serves, and grows again under load.
        const again = nextMember(pool, (c) => c.what === 'started');
        const more = Array.from({ length: 4 }, () => pool.request(sleepFor(100), { type: SLEEP }));
        assert.equal((await again).cause, 'scale');
        await Promise.all(more);
      } finally {
        await pool.stop();
      }
    });

    test('a keyed request for a slot whose member stopped for idleness starts that member again', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: { min: 1, max: 2 }, idleTimeoutMs: 100 });
      try {
        const keys = Array.from({ length: 16 }, (_, i) => `tenant-${i}`);
        for (const key of keys) await pool.request('', { type: IDENTIFY, key });
        assert.equal(pool.stats().size, 2, 'the keys needed both slots');
        const changes = memberLog(pool);
        assert.ok(await eventually(() => changes.some((c) => c.what === 'stopped' && c.cause === 'idle'), 10_000), 'a member stopped for idleness');
        const stoppedSlot = changes.find((c) => c.what === 'stopped')!.member;
        const restarted = nextMember(pool, (c) => c.what === 'started' && c.member === stoppedSlot);
        const replies = await Promise.all(keys.map((key) => pool.request('', { type: IDENTIFY, key })));
        assert.equal((await restarted).cause, 'scale');
        assert.equal(new Set(replies.map(who)).size, 2, 'the keys reach two members again');
      } finally {
        await pool.stop();
      }
    });

    test('a pool of a fixed size never stops an idle member', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, idleTimeoutMs: 50 });
      try {
        const changes = memberLog(pool);
        await Promise.all([pool.request(sleepFor(100), { type: SLEEP }), pool.request(sleepFor(100), { type: SLEEP })]);
        // Several idle timeouts pass: a hang guard for a wrong stop, not a measurement.
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(pool.stats().size, 2);
        assert.deepEqual(changes, []);
      } finally {
        await pool.stop();
      }
    });
  });

  describe(`stopping a pool (${mode} mode)`, () => {
    test('stop() answers every queued and in-flight request before it resolves', async () => {
      const counter = deliveryCounter();
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, concurrency: 1, host: counter.host });
      const settled: string[] = [];
      const requests = [
        pool.request(sleepFor(200, 'slow 0'), { type: SLEEP }).then((r) => settled.push(tagOf(r))),
        pool.request(sleepFor(200, 'slow 1'), { type: SLEEP }).then((r) => settled.push(tagOf(r))),
        ...Array.from({ length: 10 }, (_, i) => pool.request(`queued ${i}`).then((r) => settled.push(decode(r)))),
      ];
      const sends = Array.from({ length: 5 }, (_, i) => pool.send(`send ${i}`));
      assert.equal(pool.stats().queued > 0, true, 'requests wait in the pool queue at the stop');
      const exit = await pool.stop();
      assert.equal(settled.length, 12, `every request was answered before stop() resolved: ${settled.join(', ')}`);
      assert.equal(exit.reason, 'stopped');
      assert.equal(exit.dropped, 0);
      assert.equal(exit.members.length, 2);
      await Promise.all(requests);
      await Promise.all(sends);
      for (let i = 0; i < 5; i++) assert.equal(counter.counts.get(`send ${i}`), 1, `send ${i} was processed`);
    });

    test('stop({ drain: false }) rejects the queued requests with ERR_SIDECAR_STOPPED and they never run', async () => {
      const counter = deliveryCounter();
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, concurrency: 1, host: counter.host });
      const running = pool.request(sleepFor(200, 'running'), { type: SLEEP }).then(
        (r) => tagOf(r),
        (e: { code?: string }) => e.code,
      );
      // Handlers attached before the stop: the stop rejects the queued requests synchronously.
      const queued = Array.from({ length: 5 }, (_, i) => pool.request(`queued ${i}`).then(() => 'answered', (e: { code?: string }) => e.code));
      assert.equal(pool.stats().queued, 5);
      const exit = await pool.stop({ drain: false });
      assert.equal(exit.reason, 'stopped');
      assert.deepEqual(await Promise.all(queued), Array(5).fill('ERR_SIDECAR_STOPPED'));
      assert.ok(exit.dropped >= 5, `the queued requests are counted as dropped (${exit.dropped})`);
      // The request on the member settles one way or the other (answered if the plugin had started it, withdrawn
      // with ERR_SIDECAR_STOPPED if not); it does not hang.
      assert.ok(['running', 'ERR_SIDECAR_STOPPED'].includes((await running) ?? ''), `the request on the member: ${await running}`);
      for (let i = 0; i < 5; i++) assert.equal(counter.counts.get(`queued ${i}`), undefined, `queued ${i} never ran`);
    });

    test('a request, send or broadcast after stop() rejects with ERR_SIDECAR_STOPPED, and stop() again resolves', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2 });
      const pids = pool.stats().members.map((m) => m.pid);
      const stopping = pool.stop();
      await assert.rejects(pool.request('during'), hasCode('ERR_SIDECAR_STOPPED'));
      const exit = await stopping;
      await assert.rejects(pool.request('after'), hasCode('ERR_SIDECAR_STOPPED'));
      await assert.rejects(pool.send('after'), hasCode('ERR_SIDECAR_STOPPED'));
      await assert.rejects(pool.broadcast('after'), hasCode('ERR_SIDECAR_STOPPED'));
      assert.equal((await pool.stop()).reason, 'stopped');
      assert.equal(exit.members.length, 2);
      if (mode === 'process') for (const pid of pids) assert.ok(await eventually(() => !processExists(pid)), `member ${pid} is gone`);
    });

    test('await using stops the pool when the scope ends', async () => {
      let escaped: SidecarPool | undefined;
      const counter = deliveryCounter();
      {
        await using pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, host: counter.host });
        escaped = pool;
        void pool.send('sent before the scope ended');
      }
      assert.equal(counter.counts.get('sent before the scope ended'), 1, 'the disposal drained the pool');
      await assert.rejects(escaped.request('x'), hasCode('ERR_SIDECAR_STOPPED'));
    });
  });

  describe(`the end of a pool's events (${mode} mode)`, () => {
    test('an events() iterator waiting for the next event ends (done) when the pool stops', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2 });
      const it = pool.events();
      await pool.send('one', { type: 77 });
      const first = await it.next();
      assert.equal(first.done, false);
      assert.equal(first.value!.id, 77);
      assert.equal(decode(first.value!.data), 'one');
      const waiting = it.next();
      await pool.stop();
      assert.deepEqual(await waiting, { value: undefined, done: true });
    });
  });

  describe(`broadcast and events across members (${mode} mode)`, () => {
    test('broadcast() reaches every running member once, and events() yields each member event with its member', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 3 });
      try {
        const it = pool.events();
        await pool.broadcast('', { type: IDENTIFY });
        const got: { member: number; who: string }[] = [];
        for (let i = 0; i < 3; i++) {
          const r = await it.next();
          assert.equal(r.done, false);
          assert.equal(r.value!.id, IDENTIFY);
          got.push({ member: r.value!.member, who: who(r.value!.data) });
        }
        assert.equal(new Set(got.map((g) => g.member)).size, 3, 'one event from each member');
        assert.equal(new Set(got.map((g) => g.who)).size, 3, 'three member instances');
        await it.return!();
      } finally {
        await pool.stop();
      }
    });
  });
}

describe('stopping a pool with a hung member (process mode)', () => {
  test('stop({ timeout }) resolves although a member hangs: the hung member is killed and its request rejects', async () => {
    const counter = deliveryCounter();
    const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'process', size: 2, host: counter.host });
    const pids = pool.stats().members.map((m) => m.pid);
    const started = counter.next('hang');
    const hung = pool.request('hang', { type: HANG }).then(() => 'answered', (e: { code?: string }) => e.code);
    await started;
    const exit = await pool.stop({ timeout: 300 });
    assert.equal(exit.reason, 'stopped');
    assert.equal(exit.members.length, 2);
    assert.ok(exit.members.some((m) => m.signal === 'SIGKILL'), `the hung member was killed: ${JSON.stringify(exit.members)}`);
    const code = await hung;
    assert.ok(typeof code === 'string' && code.startsWith('ERR_'), `the hung request rejected: ${code}`);
    for (const pid of pids) assert.ok(await eventually(() => !processExists(pid)), `member ${pid} is gone`);
  });
});
