/**
 * Member faults in a process-mode SidecarPool (issue 12): the pool-wide poison quarantine (a command that killed its
 * member twice is refused at once everywhere, without reaching or killing any member; another payload of the same
 * type is not refused), crash restarts, and a member that uses up its restart budget being replaced by a fresh one
 * while the pool goes on serving. What reached the plugin is counted by the host.process callback.
 */
import { describe, test } from 'node:test';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('pool-wide poison quarantine of sends (process mode)', () => {
  test('a send that kills its member twice is reported by a poison event; the same send again is refused at once, the commands behind it are processed', async () => {
    const counter = deliveryCounter();
    const pool = await SidecarPool.start({ plugin: FAULTY, mode: 'process', size: 1, host: counter.host, restart: { maxRestarts: 10, backoffMs: 0 } });
    try {
      const poison = new Promise<PoolPoison>((resolve) => pool.once('poison', resolve));
      await pool.send('crash', { type: SEGFAULT });
      const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => pool.request(`after ${i}`)));
      replies.forEach((r, i) => assert.equal(decode(r), `after ${i}`));
      const p = await poison;
      assert.equal(p.requestId, 0);
      assert.equal(decode(p.data), 'crash');
      assert.equal(p.member, 0);
      const pid = pool.stats().members[0]!.pid;
      await assert.rejects(pool.send('crash', { type: SEGFAULT }), hasCode('ERR_SIDECAR_POISON'));
      await assert.rejects(pool.request('crash', { type: SEGFAULT }), hasCode('ERR_SIDECAR_POISON'));
      assert.equal(decode(await pool.request('still')), 'still');
      assert.equal(pool.stats().members[0]!.pid, pid, 'the refused commands killed nothing');
      assert.equal(counter.counts.get('crash'), 2);
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

describe('members that cannot be replaced, and error reports (process mode)', () => {
  test("a fresh member that cannot start is reported ('member' failed and 'error'), and the requests waiting for it reject with its start error instead of waiting", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-faults-'));
    const plugin = join(dir, 'faulty.so');
    copyFileSync(FAULTY, plugin);
    const pool = await SidecarPool.start({ plugin, mode: 'process', size: 1, concurrency: 1, restart: { maxRestarts: 0, backoffMs: 0 } });
    try {
      const errors: { code?: string }[] = [];
      pool.on('error', (e) => errors.push(e));
      const failed = nextMember(pool, (c) => c.what === 'failed');
      const pid = pool.stats().members[0]!.pid;
      const running = pool.request(sleepFor(5000, 'running'), { type: SLEEP }).then(() => 'answered', (e: { code?: string }) => e.code);
      const waiting = pool.request('waiting').then(() => 'answered', (e: { code?: string }) => e.code);
      assert.equal(pool.stats().queued, 1);
      rmSync(dir, { recursive: true, force: true }); // the fresh member will not find its plugin
      process.kill(pid, 'SIGKILL');
      const change = await failed;
      assert.equal(change.member, 0);
      assert.equal(change.error?.code, 'ERR_SIDECAR_START');
      assert.equal(await running, 'ERR_SIDECAR_CRASHED', 'the request on the member that crashed for good rejects');
      assert.equal(await waiting, 'ERR_SIDECAR_START', 'the queued request rejects with the start error');
      assert.ok(errors.some((e) => e.code === 'ERR_SIDECAR_START'), `an 'error' event reported it: ${JSON.stringify(errors)}`);
      // A later request settles too (a new start attempt, failing the same way); it does not wait forever.
      const later = await pool.request('later').then(() => 'answered', (e: { code?: string }) => e.code);
      assert.equal(later, 'ERR_SIDECAR_START');
    } finally {
      await pool.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a member's error with no 'error' listener on the pool becomes a process warning, not an exception, and the pool goes on serving", async () => {
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    const pool = await SidecarPool.start({
      plugin: FAULTY,
      mode: 'process',
      size: 1,
      host: {
        event() {
          throw new Error('pool callback failure');
        },
      },
    });
    try {
      await pool.send('x', { type: 3000 });
      const warning = await warned;
      assert.match(warning.message, /pool callback failure/);
      assert.equal(decode(await pool.request('alive')), 'alive');
    } finally {
      await pool.stop();
    }
  });
});
