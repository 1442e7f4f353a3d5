/**
 * Member faults in a process-mode SidecarPool (issue 12): the pool-wide poison quarantine (a command that killed its
 * member twice is refused at once everywhere, without reaching or killing any member; another payload of the same
 * type is not refused), crash restarts, and a member that uses up its restart budget being replaced by a fresh one
 * while the pool goes on serving. What reached the plugin is counted by the host.process callback.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SidecarPool, type MemberChange, type PoolPoison } from '../src/index.js';
import { eventually, processExists } from './helpers/sidecar-env.js';
import {
  FAULTY, IDENTIFY, SEGFAULT, SLEEP, decode, deliveryCounter, guardUnhandledRejections, hasCode, memberLog, nextMember, sleepFor, tagOf, who,
} from './helpers/pool-env.js';

guardUnhandledRejections();

describe('pool-wide poison quarantine (process mode)', () => {
  test('a command that kills its member twice rejects with ERR_SIDECAR_POISON and a poison event; sent again it is refused at once without reaching any member', async () => {
    const counter = deliveryCounter();
    const pool = await SidecarPool.start({
      plugin: FAULTY, mode: 'process', size: 2, host: counter.host, restart: { maxRestarts: 10, backoffMs: 0 },
    });
    try {
      const poisons: PoolPoison[] = [];
      pool.on('poison', (p: PoolPoison) => poisons.push(p));
      await assert.rejects(pool.request('boom', { type: SEGFAULT }), hasCode('ERR_SIDECAR_POISON'));
      assert.equal(poisons.length, 1);
      assert.equal(poisons[0]!.type, SEGFAULT);
      assert.equal(decode(poisons[0]!.data), 'boom');
      assert.equal(typeof poisons[0]!.member, 'number');
      assert.equal(counter.counts.get('boom'), 2, 'delivered once, redelivered once');
      // Both members serving before the refused repeats (the poisoned one restarted).
      assert.ok(await eventually(() => pool.stats().members.every((m) => m.state === 'ready')), JSON.stringify(pool.stats().members));
      const before = pool.stats().members.map((m) => ({ member: m.member, pid: m.pid, restarts: m.restarts }));
      const changes = memberLog(pool);

      await assert.rejects(pool.request('boom', { type: SEGFAULT }), hasCode('ERR_SIDECAR_POISON'));
      await assert.rejects(pool.request(new TextEncoder().encode('boom'), { type: SEGFAULT, key: 'any key' }), hasCode('ERR_SIDECAR_POISON'));
      await assert.rejects(pool.send('boom', { type: SEGFAULT }), hasCode('ERR_SIDECAR_POISON'));
      // Answered requests show that every member still runs the process it ran before.
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.request(`ok ${i}`)));
      replies.forEach((r, i) => assert.equal(decode(r), `ok ${i}`));

      assert.equal(counter.counts.get('boom'), 2, 'the quarantined command never reached a member again');
      assert.deepEqual(pool.stats().members.map((m) => ({ member: m.member, pid: m.pid, restarts: m.restarts })), before, 'no member was killed or restarted');
      assert.deepEqual(changes, []);
      assert.equal(poisons.length, 1);
      assert.equal(pool.stats().poisoned, 1);
      assert.equal(pool.stats().quarantined, 3, 'three commands were refused by the quarantine');
    } finally {
      await pool.stop();
    }
  });

  test('a different payload of a quarantined command type still reaches a member', async () => {
    const counter = deliveryCounter();
    const pool = await SidecarPool.start({
      plugin: FAULTY, mode: 'process', size: 2, host: counter.host, restart: { maxRestarts: 10, backoffMs: 0 },
    });
    try {
      const poisons: PoolPoison[] = [];
      pool.on('poison', (p: PoolPoison) => poisons.push(p));
      await assert.rejects(pool.request('boom', { type: SEGFAULT }), hasCode('ERR_SIDECAR_POISON'));
      // The same bytes with another type are another command: the faulty plugin echoes type 0.
      assert.equal(decode(await pool.request('boom')), 'boom');
      // The same type with other bytes reaches a member (which then crashes on it twice and quarantines it too).
      await assert.rejects(pool.request('boom 2', { type: SEGFAULT }), hasCode('ERR_SIDECAR_POISON'));
      assert.equal(counter.counts.get('boom 2'), 2, 'the other payload reached a member (and its redelivery)');
      assert.deepEqual(poisons.map((p) => decode(p.data)), ['boom', 'boom 2']);
      assert.equal(pool.stats().poisoned, 2);
      assert.equal(pool.stats().quarantined, 0, 'nothing was refused by the quarantine');
      assert.equal(decode(await pool.request('after')), 'after');
    } finally {
      await pool.stop();
    }
  });
});

describe('member crashes and replacement (process mode)', () => {
  test('a member killed with SIGKILL during a request restarts under its policy and the request is answered', async () => {
    const counter = deliveryCounter();
    const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'process', size: 1, host: counter.host, restart: { backoffMs: 0 } });
    try {
      const pid = pool.stats().members[0]!.pid;
      const restarted = nextMember(pool, (c) => c.what === 'restarted');
      const payload = sleepFor(2000, 'interrupted');
      const started = counter.next(decode(payload));
      const request = pool.request(payload, { type: SLEEP });
      await started;
      process.kill(pid, 'SIGKILL');
      const change = await restarted;
      assert.equal(change.cause, 'crash');
      assert.notEqual(change.pid, pid);
      assert.equal(tagOf(await request), 'interrupted', 'the request was redelivered to the restarted member and answered');
      assert.equal(pool.stats().restarts, 1);
      assert.equal(pool.stats().members[0]!.restarts, 1);
      assert.ok(await eventually(() => !processExists(pid)));
    } finally {
      await pool.stop();
    }
  });

  test('a member that crashes more often than its restart budget is replaced by a fresh member, and the pool goes on serving', async () => {
    const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'process', size: 2, restart: { maxRestarts: 1, backoffMs: 0 } });
    try {
      const changes = memberLog(pool);
      // Whether the pool reports a crash that rejected nothing as an 'error' is not this test's concern; a listener
      // keeps such a report from ending the test process.
      pool.on('error', () => {});
      const victim = pool.stats().members[0]!;
      const bystander = pool.stats().members[1]!;

      const restarted = nextMember(pool, (c) => c.member === victim.member && c.what === 'restarted');
      process.kill(victim.pid, 'SIGKILL');
      const first = await restarted;
      assert.equal(first.cause, 'crash');
      assert.ok(await eventually(() => pool.stats().members.find((m) => m.member === victim.member)?.state === 'ready'));

      const replaced = nextMember(pool, (c) => c.member === victim.member && c.what === 'replaced');
      const fresh = nextMember(pool, (c) => c.member === victim.member && c.what === 'started');
      process.kill(first.pid, 'SIGKILL');
      const gone: MemberChange = await replaced;
      assert.equal(gone.cause, 'budget');
      assert.equal(gone.pid, first.pid, "'replaced' names the member that ended");
      assert.equal(gone.exit?.signal, 'SIGKILL');
      const replacement: MemberChange = await fresh;
      assert.notEqual(replacement.pid, first.pid, 'the fresh member runs in a new process');
      assert.notEqual(replacement.pid, victim.pid);

      // The pool serves on both members: 20 identity requests, two at a time, reach two processes.
      const served = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const pair = await Promise.all([pool.request('', { type: IDENTIFY }), pool.request('', { type: IDENTIFY })]);
        for (const r of pair) served.add(who(r));
      }
      assert.equal(served.size, 2, `answered by ${[...served].join(', ')}`);
      const stats = pool.stats();
      assert.equal(stats.size, 2);
      assert.equal(stats.replacements, 1);
      assert.equal(stats.members.find((m) => m.member === victim.member)!.pid, replacement.pid);
      assert.equal(stats.members.find((m) => m.member === bystander.member)!.pid, bystander.pid, 'the other member was not touched');
      assert.deepEqual(
        changes.map((c) => [c.member, c.what, c.cause]),
        [[victim.member, 'restarted', 'crash'], [victim.member, 'replaced', 'budget'], [victim.member, 'started', 'budget']],
      );
      // The fresh member has a fresh budget: one crash is restarted again, not replaced.
      const again = nextMember(pool, (c) => c.member === victim.member);
      process.kill(replacement.pid, 'SIGKILL');
      assert.equal((await again).what, 'restarted');
      assert.equal(decode(await pool.request('after')), 'after');
    } finally {
      await pool.stop();
    }
  });
});
