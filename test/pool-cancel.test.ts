/**
 * Cancelling pool requests (issue 12): an AbortSignal, a timeout or a deadline, wherever the request is. Queued in the
 * pool or dispatched but not started: removed, never runs, the member untouched. Running in process mode: rejected at
 * once, the member's process killed and restarted (cause 'cancel'), the requests it held re-routed — none lost, none
 * run twice. Running in thread mode: rejected at once, the native call runs to its end and the member stays busy.
 * What reached the plugin is counted by the host.process callback (called before the plugin's process()).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SidecarPool } from '../src/index.js';
import { MODES, eventually } from './helpers/sidecar-env.js';
import {
  FAULTY, HANG, IDENTIFY, SLEEP, decode, deliveryCounter, guardUnhandledRejections, hasCode, identity, memberLog, nextMember, sleepFor, tagOf, who,
} from './helpers/pool-env.js';

guardUnhandledRejections();

describe('cancelling a running request in process mode', () => {
  test('an abort of a running request rejects it with ERR_ABORTED, kills and restarts only its member, and re-routes the requests behind it: none lost, none run twice', async () => {
    const counter = deliveryCounter();
    const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'process', size: 2, concurrency: 4, host: counter.host });
    try {
      const pidsBefore = pool.stats().members.map((m) => m.pid);
      const changes = memberLog(pool);
      const controller = new AbortController();
      const started = counter.next('hang');
      const hung = pool.request('hang', { type: HANG, signal: controller.signal });
      const others = Array.from({ length: 7 }, (_, i) => pool.request(`echo ${i}`));
      await started;
      // The other member answers its share; what is left in flight sits on the hung member, behind the hang.
      assert.ok(await eventually(() => pool.stats().members.filter((m) => m.inFlight > 0).length === 1), JSON.stringify(pool.stats().members));
      const stuck = pool.stats().members.find((m) => m.inFlight > 0)!;
      const other = pool.stats().members.find((m) => m.member !== stuck.member)!;
      assert.ok(stuck.inFlight >= 2, `requests wait behind the hang on its member (${stuck.inFlight} in flight there)`);

      const restarted = nextMember(pool, (c) => c.what === 'restarted');
      controller.abort();
      await assert.rejects(hung, hasCode('ERR_ABORTED'));
      const change = await restarted;
      assert.equal(change.cause, 'cancel');
      assert.equal(change.member, stuck.member);
      assert.notEqual(change.pid, stuck.pid, 'the hung member runs in a new process');

      const replies = await Promise.all(others);
      replies.forEach((reply, i) => assert.equal(decode(reply), `echo ${i}`));
      for (let i = 0; i < 7; i++) assert.equal(counter.counts.get(`echo ${i}`), 1, `echo ${i} reached the plugin once`);
      assert.equal(counter.counts.get('hang'), 1, 'the cancelled request was not delivered again');

      const after = pool.stats();
      assert.equal(after.members.find((m) => m.member === other.member)!.pid, other.pid, 'the other member kept its process');
      assert.deepEqual(pidsBefore.filter((pid) => pid !== stuck.pid), [other.pid]);
      assert.equal(after.cancelKills, 1);
      assert.equal(after.members.find((m) => m.member === stuck.member)!.cancelKills, 1);
      assert.equal(after.members.find((m) => m.member === other.member)!.cancelKills, 0);
      assert.equal(after.restarts, 0, 'a cancel-kill is not a crash restart');
      assert.deepEqual(changes.map((c) => [c.member, c.what, c.cause]), [[stuck.member, 'restarted', 'cancel']], 'no other member changed');
      assert.equal(decode(await pool.request('still serving')), 'still serving');
    } finally {
      await pool.stop();
    }
  });

  test('keyed requests behind a cancelled running request of their key stay with their key: answered in order by the restarted member', async () => {
    const counter = deliveryCounter();
    const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'process', size: 2, concurrency: 4, host: counter.host });
    try {
      const key = 'session-1';
      const before = identity(await pool.request('', { type: IDENTIFY, key }));
      const controller = new AbortController();
      const started = counter.next('hang');
      const hung = pool.request('hang', { type: HANG, key, signal: controller.signal });
      const order: string[] = [];
      const behind = Array.from({ length: 6 }, (_, i) =>
        pool.request(sleepFor(0, `k${i}`), { type: SLEEP, key }).then((r) => order.push(tagOf(r))),
      );
      const unkeyed = Array.from({ length: 4 }, (_, i) => pool.request(`free ${i}`));
      await started;
      controller.abort();
      await assert.rejects(hung, hasCode('ERR_ABORTED'));
      await Promise.all(behind);
      assert.deepEqual(order, ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'], 'the key kept its order across the kill');
      (await Promise.all(unkeyed)).forEach((r, i) => assert.equal(decode(r), `free ${i}`));
      const after = identity(await pool.request('', { type: IDENTIFY, key }));
      assert.notEqual(after.pid, before.pid, "the key's member was restarted in a new process");
      const keySlot = pool.stats().members.find((m) => m.pid === after.pid);
      assert.ok(keySlot !== undefined && keySlot.cancelKills === 1, 'the restarted member is the one that was killed');
      for (let i = 0; i < 6; i++) assert.equal(counter.counts.get(decode(sleepFor(0, `k${i}`))), 1, `k${i} ran once`);
    } finally {
      await pool.stop();
    }
  });

  test('a cancel kill restarts the member at once even without a restart policy, and does not count as a crash restart', { timeout: 30_000 }, async () => {
    const counter = deliveryCounter();
    const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'process', size: 1, host: counter.host, restart: false });
    try {
      const pid = pool.stats().members[0]!.pid;
      const restarted = nextMember(pool, (c) => c.what === 'restarted');
      const started = counter.next('hang');
      const controller = new AbortController();
      const hung = pool.request('hang', { type: HANG, signal: controller.signal });
      await started;
      controller.abort();
      await assert.rejects(hung, hasCode('ERR_ABORTED'));
      const change = await restarted;
      assert.equal(change.cause, 'cancel');
      assert.equal(change.exit?.reason, 'cancelled');
      assert.equal(decode(await pool.request('after')), 'after');
      const stats = pool.stats();
      assert.notEqual(stats.members[0]!.pid, pid);
      assert.deepEqual([stats.cancelKills, stats.restarts, stats.replacements], [1, 0, 0]);
    } finally {
      await pool.stop();
    }
  });

  for (const which of ['timeout', 'deadlineMs'] as const) {
    test(`a running request past its ${which} rejects with ERR_TIMEOUT and its member is restarted with cause 'cancel'`, async () => {
      const counter = deliveryCounter();
      const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'process', size: 1, host: counter.host });
      try {
        const pid = pool.stats().members[0]!.pid;
        const restarted = nextMember(pool, (c) => c.what === 'restarted');
        const started = counter.next('hang');
        // 500 ms leaves the member ample time to start the call (the test checks that it did).
        const options = which === 'timeout' ? { timeout: 500 } : { deadlineMs: Date.now() + 500 };
        const hung = pool.request('hang', { type: HANG, ...options });
        let runningBeforeTimeout = false;
        void started.then(() => (runningBeforeTimeout = true));
        await assert.rejects(hung, hasCode('ERR_TIMEOUT'));
        assert.ok(runningBeforeTimeout, 'the request was running when it timed out');
        const change = await restarted;
        assert.equal(change.cause, 'cancel');
        assert.notEqual(change.pid, pid);
        assert.equal(decode(await pool.request('after')), 'after');
        assert.notEqual(pool.stats().members[0]!.pid, pid);
        assert.equal(pool.stats().cancelKills, 1);
        assert.equal(counter.counts.get('hang'), 1, 'the timed-out request was not delivered again');
      } finally {
        await pool.stop();
      }
    });
  }
});

describe('cancelling a running request in thread mode', () => {
  test('a cancel kill restarts the member at once even without a restart policy, and does not count as a crash restart', { timeout: 30_000 }, async () => {
    const counter = deliveryCounter();
    const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'process', size: 1, host: counter.host, restart: false });
    try {
      const pid = pool.stats().members[0]!.pid;
      const restarted = nextMember(pool, (c) => c.what === 'restarted');
      const started = counter.next('hang');
      const controller = new AbortController();
      const hung = pool.request('hang', { type: HANG, signal: controller.signal });
      await started;
      controller.abort();
      await assert.rejects(hung, hasCode('ERR_ABORTED'));
      const change = await restarted;
      assert.equal(change.cause, 'cancel');
      assert.equal(change.exit?.reason, 'cancelled');
      assert.equal(decode(await pool.request('after')), 'after');
      const stats = pool.stats();
      assert.notEqual(stats.members[0]!.pid, pid);
      assert.deepEqual([stats.cancelKills, stats.restarts, stats.replacements], [1, 0, 0]);
    } finally {
      await pool.stop();
    }
  });

  for (const which of ['timeout', 'deadlineMs'] as const) {
    test(`a running request past its ${which} rejects with ERR_TIMEOUT at once; the member stays busy until the native call returns and is not restarted`, async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'thread', size: 1, concurrency: 1 });
      try {
        const changes = memberLog(pool);
        const member = who(await pool.request('', { type: IDENTIFY }));
        const options = which === 'timeout' ? { timeout: 100 } : { deadlineMs: Date.now() + 100 };
        // The call sleeps 1500 ms: a hang guard long enough that the 100 ms timeout fires while it runs.
        await assert.rejects(pool.request(sleepFor(1500, 'slow'), { type: SLEEP, ...options }), hasCode('ERR_TIMEOUT'));
        const atRejection = pool.stats();
        assert.equal(atRejection.members[0]!.inFlight, 1, 'the member is still busy with the call');
        const next = pool.request('', { type: IDENTIFY });
        assert.equal(pool.stats().queued, 1, 'a new request waits for the busy member');
        assert.equal(who(await next), member, 'the same member instance answered: nothing was restarted');
        assert.ok(await eventually(() => pool.stats().inFlight === 0));
        assert.deepEqual(changes, []);
        assert.equal(pool.stats().cancelKills, 0);
      } finally {
        await pool.stop();
      }
    });

  }

  test('an abort of a running request rejects with ERR_ABORTED at once and the native call runs to its end on the same member', async () => {
    const counter = deliveryCounter();
    const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'thread', size: 1, concurrency: 1, host: counter.host });
    try {
      const changes = memberLog(pool);
      const member = who(await pool.request('', { type: IDENTIFY }));
      const controller = new AbortController();
      const payload = sleepFor(600, 'slow');
      const started = counter.next(decode(payload));
      const running = pool.request(payload, { type: SLEEP, signal: controller.signal });
      await started; // the plugin is inside the call (an abort before that would withdraw the request instead)
      controller.abort();
      await assert.rejects(running, hasCode('ERR_ABORTED'));
      assert.equal(pool.stats().members[0]!.inFlight, 1, 'the member is still busy with the call');
      assert.equal(who(await pool.request('', { type: IDENTIFY })), member);
      assert.deepEqual(changes, []);
      assert.equal(pool.stats().cancelKills, 0);
    } finally {
      await pool.stop();
    }
  });
});

for (const mode of MODES) {
  describe(`cancelling a request that has not started (${mode} mode)`, () => {
    test('a request aborted while queued in the pool rejects with ERR_ABORTED at once and never reaches the plugin', async () => {
      const counter = deliveryCounter();
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, concurrency: 1, host: counter.host });
      try {
        const changes = memberLog(pool);
        let slowDone = false;
        const slow = pool.request(sleepFor(400, 'slow'), { type: SLEEP }).then((r) => {
          slowDone = true;
          return r;
        });
        const controller = new AbortController();
        const queued = pool.request('queued', { signal: controller.signal });
        assert.equal(pool.stats().queued, 1, 'the request waits in the pool queue');
        controller.abort(new Error('changed my mind'));
        await assert.rejects(queued, hasCode('ERR_ABORTED'));
        assert.equal(slowDone, false, 'it was rejected while the member was still busy');
        assert.equal(pool.stats().queued, 0, 'it left the queue');
        assert.equal(tagOf(await slow), 'slow');
        assert.equal(decode(await pool.request('after')), 'after');
        assert.equal(counter.counts.get('queued'), undefined, 'the aborted request never reached the plugin');
        assert.equal(pool.stats().members.reduce((n, m) => n + m.completed, 0), 2, 'the member processed two requests');
        assert.deepEqual(changes, [], 'no member was killed');
      } finally {
        await pool.stop();
      }
    });

    test('a request that times out while queued in the pool rejects with ERR_TIMEOUT and never reaches the plugin', async () => {
      const counter = deliveryCounter();
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, concurrency: 1, host: counter.host });
      try {
        const slow = pool.request(sleepFor(600, 'slow'), { type: SLEEP });
        await assert.rejects(pool.request('impatient', { timeout: 20 }), hasCode('ERR_TIMEOUT'));
        await assert.rejects(pool.request('late', { deadlineMs: Date.now() + 20 }), hasCode('ERR_TIMEOUT'));
        assert.equal(tagOf(await slow), 'slow');
        assert.equal(decode(await pool.request('after')), 'after');
        assert.equal(counter.counts.get('impatient'), undefined);
        assert.equal(counter.counts.get('late'), undefined);
        assert.equal(pool.stats().cancelKills, 0);
      } finally {
        await pool.stop();
      }
    });

    test('a request aborted after dispatch but before its member started it is withdrawn: it never runs and the member is not killed', async () => {
      const counter = deliveryCounter();
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, concurrency: 2, host: counter.host });
      try {
        const changes = memberLog(pool);
        const started = counter.next(decode(sleepFor(400, 'slow')));
        const slow = pool.request(sleepFor(400, 'slow'), { type: SLEEP });
        const controller = new AbortController();
        const behind = pool.request('behind', { signal: controller.signal });
        await started;
        assert.equal(pool.stats().members[0]!.inFlight, 2, 'both requests are on the member');
        controller.abort();
        await assert.rejects(behind, hasCode('ERR_ABORTED'));
        assert.equal(tagOf(await slow), 'slow');
        assert.equal(decode(await pool.request('after')), 'after');
        assert.equal(counter.counts.get('behind'), undefined, 'the withdrawn request never reached the plugin');
        assert.deepEqual(changes, [], 'the member was not killed');
        assert.equal(pool.stats().cancelKills, 0);
      } finally {
        await pool.stop();
      }
    });

    test('with both a timeout and a deadline, the earlier one rejects the request', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, concurrency: 1 });
      try {
        const slow = pool.request(sleepFor(500, 'slow'), { type: SLEEP });
        await assert.rejects(pool.request('a', { timeout: 60_000, deadlineMs: Date.now() + 30 }), hasCode('ERR_TIMEOUT', /deadline/));
        await assert.rejects(pool.request('b', { timeout: 30, deadlineMs: Date.now() + 60_000 }), hasCode('ERR_TIMEOUT', /timeout/));
        assert.equal(tagOf(await slow), 'slow');
      } finally {
        await pool.stop();
      }
    });

    test('a request whose signal is already aborted, or whose deadline has passed, rejects at once and never reaches the plugin', async () => {
      const counter = deliveryCounter();
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, host: counter.host });
      try {
        await assert.rejects(pool.request('pre-aborted', { signal: AbortSignal.abort() }), hasCode('ERR_ABORTED'));
        await assert.rejects(pool.request('past', { deadlineMs: Date.now() - 1 }), hasCode('ERR_TIMEOUT'));
        assert.equal(decode(await pool.request('after')), 'after');
        assert.equal(counter.counts.get('pre-aborted'), undefined);
        assert.equal(counter.counts.get('past'), undefined);
        assert.equal(pool.stats().completed, 1);
      } finally {
        await pool.stop();
      }
    });
  });
}
