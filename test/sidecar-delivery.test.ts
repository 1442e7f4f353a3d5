/**
 * The delivery contract of docs/reliability.md, rule by rule, and a regression test for each failure that was
 * reproduced on the earlier runtime (issue 7): resolved sends dropped by stop() during a restart, settled requests run
 * again, rejected requests run anyway, a poison command killing the sidecar for good, unhandled rejections, detached
 * buffers, a hang after a corrupt ring, unbounded init events, iterators that never settle, wrong error codes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Sidecar, examplePluginPath, type SidecarExit, type SidecarPoison } from '../src/index.js';
import { eventually, MODES, resourceCounts, sleep, testPlugin } from './helpers/sidecar-env.js';
import { breakCapacity, misalignTail, wakeEventfds } from './helpers/sidecar-fault.js';
import { guardUnhandledRejections } from './helpers/guards.js';

const SEGFAULT = 1;
const HANG = 4;
const FLAGS = 5;
const CRASH_UNLESS_REDELIVERED = 6;
const REPLY_THEN_CRASH = 7;
const SWALLOW = 10; // lifecycle plugin: a request it never answers

const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
const u32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);

function nextExit(sidecar: Sidecar, restarting?: boolean): Promise<SidecarExit> {
  return new Promise((resolve) => {
    const on = (exit: SidecarExit): void => {
      if (restarting !== undefined && exit.restarting !== restarting) return;
      sidecar.off('exit', on);
      resolve(exit);
    };
    sidecar.on('exit', on);
  });
}

function nextReady(sidecar: Sidecar): Promise<void> {
  return new Promise((resolve) => sidecar.once('ready', () => resolve()));
}

/** Counts, per payload, how often the plugin was about to process a command (host.process runs before process()). */
function deliveryCounter(): { host: { process(data: Uint8Array): void }; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  return { counts, host: { process: (data) => counts.set(decode(data), (counts.get(decode(data)) ?? 0) + 1) } };
}

/** Sequence numbers of the events the echo plugin sent back, with how often each came. */
function eventCounter(sidecar: Sidecar): Map<number, number> {
  const seen = new Map<number, number>();
  sidecar.on('event', (_id: number, data: Uint8Array) => seen.set(u32(data), (seen.get(u32(data)) ?? 0) + 1));
  return seen;
}

/** Every sequence number 0 … n−1 was seen; at most one of them twice (the command inside process() at a kill). */
function assertAllOnceButOne(seen: Map<number, number>, n: number): void {
  let twice = 0;
  for (let i = 0; i < n; i++) {
    const count = seen.get(i) ?? 0;
    assert.ok(count >= 1, `command ${i} was processed`);
    assert.ok(count <= 2, `command ${i} was processed ${count} times`);
    if (count === 2) twice++;
  }
  assert.ok(twice <= 1, `${twice} commands were processed twice; only the one inside process() at the kill may be`);
  assert.equal(seen.size, n);
}

guardUnhandledRejections();

describe('delivery across a restart (process mode)', () => {
  test('stop() during the restart backoff processes every resolved send before it resolves', async () => {
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'process', restart: { backoffMs: 300 } });
    const seen = eventCounter(sidecar);
    const N = 2000;
    await Promise.all(Array.from({ length: N }, (_, i) => sidecar.send(new Uint32Array([i]), { type: 1 })));
    const crashed = nextExit(sidecar, true);
    process.kill(sidecar.pid, 'SIGKILL');
    await crashed;
    const exit = await sidecar.stop();
    assert.equal(exit.reason, 'stopped');
    assert.equal(exit.dropped, 0);
    assertAllOnceButOne(seen, N);
  });

  test('a kill -9 while stop() drains restarts the sidecar and finishes the drain', async () => {
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'process', restart: { backoffMs: 10 } });
    const seen = eventCounter(sidecar);
    const N = 2000;
    await Promise.all(Array.from({ length: N }, (_, i) => sidecar.send(new Uint32Array([i]), { type: 1 })));
    const pid = sidecar.pid;
    const stopped = sidecar.stop();
    process.kill(pid, 'SIGKILL');
    const exit = await stopped;
    assert.equal(exit.reason, 'stopped');
    assert.equal(exit.dropped, 0);
    assertAllOnceButOne(seen, N);
  });

  test('requests that completed before a kill -9 are never run again, whatever the batch size', async () => {
    const { host, counts } = deliveryCounter();
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'process', host, restart: { backoffMs: 10 } });
    try {
      const N = 5000;
      const requests: Promise<Uint8Array>[] = [];
      for (let i = 0; i < N; i++) {
        requests.push(sidecar.request(`r${i}`));
        if (i === N / 2) process.kill(sidecar.pid, 'SIGKILL');
      }
      const replies = await Promise.all(requests);
      replies.forEach((reply, i) => assert.equal(decode(reply), `r${i}`));
      const twice = [...counts.values()].filter((c) => c > 1).length;
      assert.ok(twice <= 1, `${twice} requests reached the plugin twice; only the one inside process() at the kill may`);
      assert.equal(counts.size, N);
    } finally {
      await sidecar.stop();
    }
  });

  test('requests pending at a crash are answered by the restarted sidecar, not rejected', async () => {
    const config = new Uint8Array(new Uint32Array([20_000]).buffer); // hash rounds: milliseconds per request
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('hash'), mode: 'process', config, restart: { backoffMs: 10 } });
    try {
      const requests = Array.from({ length: 40 }, (_, i) => sidecar.request(`block ${i}`));
      await requests[0];
      const pendingAtKill = sidecar.pendingRequests;
      process.kill(sidecar.pid, 'SIGKILL');
      const replies = await Promise.all(requests);
      assert.ok(pendingAtKill > 0, 'requests were pending when the sidecar was killed');
      assert.ok(replies.every((r) => r.byteLength === 32), 'every request got its digest');
    } finally {
      await sidecar.stop();
    }
  });

  test('a request that timed out while the sidecar restarted is withdrawn and never runs', async () => {
    const { host, counts } = deliveryCounter();
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'process', host, restart: { backoffMs: 300 } });
    try {
      const crashed = nextExit(sidecar, true);
      process.kill(sidecar.pid, 'SIGKILL');
      await crashed;
      const ready = nextReady(sidecar);
      await assert.rejects(sidecar.request('late', { timeout: 20 }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_TIMEOUT');
        assert.match(error.message, /withdrawn before the plugin started it/);
        return true;
      });
      const aborter = new AbortController();
      const aborted = sidecar.request('aborted', { signal: aborter.signal });
      aborter.abort();
      await assert.rejects(aborted, { code: 'ERR_ABORTED' });
      await ready;
      assert.equal(decode(await sidecar.request('marker')), 'marker');
      assert.equal(counts.get('late'), undefined, 'the timed-out request never reached the plugin');
      assert.equal(counts.get('aborted'), undefined, 'the aborted request never reached the plugin');
    } finally {
      await sidecar.stop();
    }
  });

  test('a request the plugin processed without replying rejects with ERR_SIDECAR_CRASHED at a restart and never runs again', async () => {
    const { host, counts } = deliveryCounter();
    const sidecar = await Sidecar.start({ plugin: testPlugin('lifecycle'), mode: 'process', host, restart: { backoffMs: 10 } });
    try {
      const unanswered = sidecar.request('deferred', { type: SWALLOW });
      assert.equal(decode(await sidecar.request('after')), 'after'); // the swallowed one was processed before it
      const crashed = nextExit(sidecar, true);
      process.kill(sidecar.pid, 'SIGKILL');
      await crashed;
      await assert.rejects(unanswered, (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_SIDECAR_CRASHED');
        assert.match(error.message, /processed request \d+ but ended/);
        return true;
      });
      assert.equal(decode(await sidecar.request('again')), 'again');
      assert.equal(counts.get('deferred'), 1);
    } finally {
      await sidecar.stop();
    }
  });
});

describe('rejected and settled requests never run again', () => {
  test('a request answered just before the sidecar died inside its process() call is not redelivered', async () => {
    const { host, counts } = deliveryCounter();
    const sidecar = await Sidecar.start({ plugin: testPlugin('faulty'), mode: 'process', host, restart: { backoffMs: 10 } });
    const poisons: SidecarPoison[] = [];
    sidecar.on('poison', (p: SidecarPoison) => poisons.push(p));
    try {
      const crashed = nextExit(sidecar, true);
      assert.equal(decode(await sidecar.request('answered', { type: REPLY_THEN_CRASH })), 'answered');
      await crashed;
      assert.equal(decode(await sidecar.request('next')), 'next');
      assert.equal(counts.get('answered'), 1, 'the settled request reached the plugin once');
      assert.deepEqual(poisons, []);
    } finally {
      await sidecar.stop();
    }
  });

  for (const mode of MODES) {
    test(`a request that times out behind a slow one is withdrawn and never reaches the plugin (${mode} mode)`, async () => {
      const { host, counts } = deliveryCounter();
      const config = new Uint8Array(new Uint32Array([200_000]).buffer); // hash rounds: tens of milliseconds
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('hash'), mode, host, config });
      try {
        const slow = sidecar.request('slow');
        await assert.rejects(sidecar.request('impatient', { timeout: 5 }), (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_TIMEOUT');
          assert.match(error.message, /withdrawn before the plugin started it/);
          return true;
        });
        assert.equal((await slow).byteLength, 32);
        assert.equal((await sidecar.request('after')).byteLength, 32);
        assert.equal(counts.get('impatient'), undefined);
        // The runtime counts a command just after its process() returned, so the reply can arrive first: read the
        // final count after the stop.
        await sidecar.stop();
        assert.equal(sidecar.processedCount, 2, 'the withdrawn request was never processed');
      } finally {
        await sidecar.stop();
      }
    });
  }
});

describe('poison commands (process mode)', () => {
  test('a command that crashes every time is quarantined after its redelivery and the sidecar goes on serving', async () => {
    const sidecar = await Sidecar.start({ plugin: testPlugin('faulty'), mode: 'process', restart: { maxRestarts: 1, backoffMs: 10 } });
    const poisons: SidecarPoison[] = [];
    sidecar.on('poison', (p: SidecarPoison) => poisons.push(p));
    const exits: SidecarExit[] = [];
    sidecar.on('exit', (e: SidecarExit) => exits.push(e));
    const poisoned = sidecar.request('boom', { type: SEGFAULT });
    await assert.rejects(poisoned, { code: 'ERR_SIDECAR_POISON' });
    assert.equal(decode(await sidecar.request('still serving')), 'still serving');
    assert.equal(poisons.length, 1);
    assert.equal(poisons[0]!.type, SEGFAULT);
    assert.equal(decode(poisons[0]!.data), 'boom');
    assert.equal(exits.length, 2);
    assert.ok(exits.every((e) => e.restarting && e.signal === 'SIGSEGV'));
    // The poison used the budget of one restart once: one more crash is the end.
    const final = nextExit(sidecar, false);
    process.kill(sidecar.pid, 'SIGKILL');
    assert.equal((await final).reason, 'crashed');
    await assert.rejects(sidecar.request('x'), { code: 'ERR_SIDECAR_CRASHED' });
    await assert.rejects(sidecar.send('x'), { code: 'ERR_SIDECAR_CRASHED' });
    await sidecar.stop();
  });

  test('a poison send is reported by a poison event and the commands behind it are processed', async () => {
    const sidecar = await Sidecar.start({ plugin: testPlugin('faulty'), mode: 'process', restart: { backoffMs: 10 } });
    try {
      const poison = new Promise<SidecarPoison>((resolve) => sidecar.once('poison', resolve));
      await sidecar.send('crash', { type: SEGFAULT });
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => sidecar.request(`after ${i}`)));
      replies.forEach((reply, i) => assert.equal(decode(reply), `after ${i}`));
      const p = await poison;
      assert.equal(p.requestId, 0);
      assert.equal(decode(p.data), 'crash');
    } finally {
      await sidecar.stop();
    }
  });

  test('the redelivered command is flagged to the plugin; a first delivery is not', async () => {
    const sidecar = await Sidecar.start({ plugin: testPlugin('faulty'), mode: 'process', restart: { backoffMs: 10 } });
    try {
      assert.equal(u32(await sidecar.request('x', { type: FLAGS })), 0);
      const reply = await sidecar.request('second time lucky', { type: CRASH_UNLESS_REDELIVERED });
      assert.equal(decode(reply), 'second time lucky');
    } finally {
      await sidecar.stop();
    }
  });

  test('a hung command is killed by the watchdog, redelivered once, then quarantined; requests that timed out behind it never run', async () => {
    const { host, counts } = deliveryCounter();
    const sidecar = await Sidecar.start({
      plugin: testPlugin('faulty'),
      mode: 'process',
      host,
      watchdog: { timeoutMs: 100 },
      restart: { maxRestarts: 1, backoffMs: 10 },
    });
    try {
      const hung = sidecar.request('hang', { type: HANG });
      const behind = sidecar.request('behind', { timeout: 20 });
      await assert.rejects(behind, { code: 'ERR_TIMEOUT' });
      await assert.rejects(hung, { code: 'ERR_SIDECAR_POISON' });
      assert.equal(decode(await sidecar.request('after')), 'after');
      assert.equal(counts.get('hang'), 2, 'delivered once, redelivered once');
      assert.equal(counts.get('behind'), undefined, 'the timed-out request never reached the plugin');
    } finally {
      await sidecar.stop();
    }
  });
});

describe('stop() and the final end', () => {
  test('stop({ drain: false }) withdraws the commands the plugin has not started and counts them', async () => {
    const config = new Uint8Array(new Uint32Array([20_000]).buffer); // hash rounds: milliseconds per command
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('hash'), mode: 'process', config });
    const N = 200;
    const sends = Array.from({ length: N }, (_, i) => sidecar.request(`block ${i}`).catch(() => undefined));
    assert.ok(await eventually(() => sidecar.processedCount >= 1), 'the plugin is working through the commands');
    const exit = await sidecar.stop({ drain: false });
    assert.equal(exit.reason, 'stopped');
    assert.ok(exit.dropped > 0 && exit.dropped < N, `some commands were dropped (${exit.dropped})`);
    assert.equal(sidecar.processedCount + exit.dropped, N, 'every accepted command was processed or counted as dropped');
    const settled = await Promise.all(sends);
    assert.equal(settled.filter((r) => r === undefined).length, exit.dropped, 'exactly the dropped requests rejected');
  });

  test('a final crash counts every accepted command that will not run, and later calls reject with ERR_SIDECAR_CRASHED', async () => {
    const sidecar = await Sidecar.start({ plugin: testPlugin('faulty'), mode: 'process' });
    const hung = sidecar.request('hang', { type: HANG });
    await Promise.all(Array.from({ length: 50 }, () => sidecar.send('never')));
    await sleep(20);
    const exited = nextExit(sidecar);
    process.kill(sidecar.pid, 'SIGKILL');
    const exit = await exited;
    assert.equal(exit.reason, 'crashed');
    assert.equal(exit.dropped, 51);
    await assert.rejects(hung, { code: 'ERR_SIDECAR_CRASHED' });
    await assert.rejects(sidecar.send('x'), { code: 'ERR_SIDECAR_CRASHED' });
    await assert.rejects(sidecar.request('x'), { code: 'ERR_SIDECAR_CRASHED' });
    assert.equal(typeof sidecar.processedCount, 'number');
    assert.equal((await sidecar.stop()).reason, 'crashed');
  });

  test('the backlog is bounded: past maxQueue, send() rejects with ERR_QUEUE_FULL, and a stop timeout counts what was dropped', async () => {
    const sidecar = await Sidecar.start({ plugin: testPlugin('faulty'), mode: 'process', commandRingBytes: 1024, maxQueue: 10 });
    const hung = sidecar.request('hang', { type: HANG }).catch((e: { code?: string }) => e.code);
    const accepted: Promise<unknown>[] = [];
    while (sidecar.queuedCommands < 10 && accepted.length < 1000) {
      accepted.push(sidecar.send(`command ${accepted.length}`).catch((e: { code?: string }) => e.code));
    }
    assert.equal(sidecar.queuedCommands, 10);
    await assert.rejects(sidecar.send('one too many'), { code: 'ERR_QUEUE_FULL' });
    await assert.rejects(sidecar.request('one too many'), { code: 'ERR_QUEUE_FULL' });
    const exit = await sidecar.stop({ timeout: 200 });
    assert.equal(exit.reason, 'stop-timeout');
    assert.equal(exit.dropped, accepted.length + 1, 'the hung request, the commands in the ring and the backlog');
    assert.equal(await hung, 'ERR_SIDECAR_CRASHED');
    const outcomes = await Promise.all(accepted);
    assert.equal(outcomes.filter((o) => o === 'ERR_SIDECAR_CRASHED').length, 10, 'the queued sends rejected');
  });

  test('processedCount after stop is the final count, not a throw', async () => {
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo') });
    await Promise.all(Array.from({ length: 10 }, () => sidecar.request('x')));
    await sidecar.stop();
    assert.equal(sidecar.processedCount, 10);
  });
});

describe('corrupt shared memory (process mode)', () => {
  test('after the runtime finds a corrupt command ring, the restarted sidecar serves every request', async () => {
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'process', restart: { backoffMs: 10 } });
    const errors: Error[] = [];
    sidecar.on('error', (e: Error) => errors.push(e));
    try {
      assert.equal(decode(await sidecar.request('before')), 'before');
      const crashed = nextExit(sidecar, true);
      misalignTail('command');
      const exit = await crashed;
      assert.equal(exit.reason, 'corrupt');
      const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => sidecar.request(`after ${i}`)));
      replies.forEach((reply, i) => assert.equal(decode(reply), `after ${i}`));
    } finally {
      assert.equal((await sidecar.stop()).reason, 'stopped');
    }
  });

  test('a ring header broken while idle does not keep a restart from attaching (it runs on a fresh region)', async () => {
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'process', restart: { backoffMs: 10 } });
    try {
      breakCapacity('command');
      breakCapacity('event');
      const crashed = nextExit(sidecar, true);
      process.kill(sidecar.pid, 'SIGKILL');
      const exit = await crashed;
      assert.notEqual(exit.reason, 'start-failed');
      assert.equal(decode(await sidecar.request('served')), 'served');
    } finally {
      assert.equal((await sidecar.stop()).reason, 'stopped');
    }
  });

  test('a corrupt event ring is reported as an error, the run is ended, and the restarted sidecar answers pending requests', async () => {
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'process', restart: { backoffMs: 10 } });
    const errors: { code?: string }[] = [];
    sidecar.on('error', (e: { code?: string }) => errors.push(e));
    try {
      assert.equal(decode(await sidecar.request('before')), 'before');
      const crashed = nextExit(sidecar, true);
      // Frozen, the sidecar cannot repair the tail by publishing; the wake makes the host's pump look at it.
      process.kill(sidecar.pid, 'SIGSTOP');
      const replies = Promise.all(Array.from({ length: 50 }, (_, i) => sidecar.request(`r${i}`)));
      misalignTail('event');
      assert.ok(wakeEventfds() > 0);
      assert.equal((await crashed).reason, 'corrupt');
      (await replies).forEach((reply, i) => assert.equal(decode(reply), `r${i}`));
      assert.ok(errors.some((e) => e.code === 'ERR_RING_CORRUPT'));
    } finally {
      await sidecar.stop();
    }
  });
});

for (const mode of MODES) {
  describe(`state left by failures in ${mode} mode`, () => {
    test('a detached buffer is refused with ERR_INVALID_ARG and leaves nothing behind', async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
      try {
        const view = new Uint8Array(16);
        structuredClone(view.buffer, { transfer: [view.buffer] });
        assert.throws(() => sidecar.request(view), { code: 'ERR_INVALID_ARG' });
        assert.throws(() => sidecar.send(view), { code: 'ERR_INVALID_ARG' });
        assert.throws(() => sidecar.send(view.buffer), { code: 'ERR_INVALID_ARG' });
        assert.equal(sidecar.pendingRequests, 0);
        assert.equal(decode(await sidecar.request('next')), 'next', 'no claim was left open');
        assert.equal((await sidecar.request(new Uint8Array(0))).byteLength, 0, 'an empty live buffer is fine');
      } finally {
        await sidecar.stop();
      }
    });

    test('events() iterators settle a pending next() at return() and at the end', async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
      const it = sidecar.events();
      const waiting = it.next();
      await it.return!();
      assert.deepEqual(await waiting, { value: undefined, done: true });
      const it2 = sidecar.events();
      const waiting2 = it2.next();
      await sidecar.stop();
      assert.deepEqual(await waiting2, { value: undefined, done: true });
    });

    test('an events() iterator that is not consumed pauses the event ring instead of buffering without bound', async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode, eventStreamHighWaterMark: 16, eventRingBytes: 1024 });
      try {
        const it = sidecar.events();
        const sends = Array.from({ length: 500 }, (_, i) => sidecar.send(new Uint32Array([i]), { type: 1 }));
        await sleep(100);
        const got: number[] = [];
        for (let i = 0; i < 500; i++) {
          const r = await it.next();
          assert.equal(r.done, false);
          got.push(u32(r.value!.data));
        }
        await Promise.all(sends);
        assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => i), 'nothing was dropped, order kept');
        await it.return!();
      } finally {
        await sidecar.stop();
      }
    });

    test('events emitted during init beyond maxInitEventBytes fail the start with ERR_SIDECAR_START and leave nothing behind', async () => {
      const before = resourceCounts();
      await assert.rejects(
        Sidecar.start({ plugin: testPlugin('lifecycle'), mode, config: 'x'.repeat(2048), maxInitEventBytes: 1024 }),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_SIDECAR_START');
          assert.match(error.message, /maxInitEventBytes/);
          return true;
        },
      );
      const left = resourceCounts();
      assert.equal(left.fds, before.fds, 'no descriptor left behind');
      assert.equal(left.memfdMappings, before.memfdMappings, 'no region left mapped');
      const sidecar = await Sidecar.start({ plugin: testPlugin('lifecycle'), mode, config: 'x'.repeat(512), maxInitEventBytes: 1024 });
      await sidecar.stop();
    });

    test('a host callback that throws with no error listener becomes a process warning, not a crash', async () => {
      const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
      const sidecar = await Sidecar.start({
        plugin: examplePluginPath('echo'),
        mode,
        host: {
          event() {
            throw new Error('callback failure');
          },
        },
      });
      try {
        await sidecar.send('x', { type: 3 });
        const warning = await warned;
        assert.match(warning.message, /callback failure/);
      } finally {
        await sidecar.stop();
      }
    });
  });
}
