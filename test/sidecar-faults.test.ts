import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Sidecar, examplePluginPath, type SidecarExit } from '../src/index.js';
import { eventually, processExists, testPlugin } from './helpers/sidecar-env.js';

const SEGFAULT = 1;
const ABORT = 2;
const EXIT = 3;
const HANG = 4;

function nextExit(sidecar: Sidecar): Promise<SidecarExit> {
  return new Promise((resolve) => sidecar.once('exit', resolve));
}

describe('sidecar faults in process mode', () => {
  for (const [what, type, check] of [
    ['segfaults', SEGFAULT, (e: SidecarExit) => assert.equal(e.signal, 'SIGSEGV')],
    ['aborts', ABORT, (e: SidecarExit) => assert.equal(e.signal, 'SIGABRT')],
    ['exits', EXIT, (e: SidecarExit) => assert.equal(e.code, 7)],
  ] as const) {
    test(`a plugin that ${what} ends only its process: 'exit' reports it and pending requests reject at once`, async () => {
      const sidecar = await Sidecar.start({ plugin: testPlugin('faulty'), mode: 'process' });
      const pid = sidecar.pid;
      const exited = nextExit(sidecar);
      const before = Array.from({ length: 50 }, (_, i) => sidecar.request(`r${i}`));
      const doomed = sidecar.request('boom', { type });
      const after = Array.from({ length: 50 }, () => sidecar.request('never'));
      const exit = await exited;
      check(exit);
      assert.equal(exit.reason, 'crashed');
      assert.equal(exit.restarting, false);
      const replies = await Promise.all(before);
      assert.equal(replies.length, 50, 'requests processed before the fault were answered');
      await assert.rejects(doomed, { code: 'ERR_SIDECAR_CRASHED' });
      for (const p of after) await assert.rejects(p, { code: 'ERR_SIDECAR_CRASHED' });
      await assert.rejects(sidecar.send('x'), { code: 'ERR_SIDECAR_CRASHED' });
      assert.ok(await eventually(() => !processExists(pid)), 'the sidecar process is gone');
      assert.equal((await sidecar.stop()).reason, 'crashed');
    });
  }

  test('kill -9 of the sidecar mid-stream: the host survives, the restarted sidecar answers the pending request and processes every command once', async () => {
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'process', restart: { backoffMs: 10 } });
    const seen = new Set<number>();
    const order: number[] = [];
    sidecar.on('event', (_id: number, data: Uint8Array) => {
      const seq = new DataView(data.buffer, data.byteOffset).getUint32(0, true);
      seen.add(seq);
      order.push(seq);
    });
    const restarts: unknown[] = [];
    sidecar.on('restart', (r) => restarts.push(r));
    const firstPid = sidecar.pid;
    const exited = nextExit(sidecar);
    const requests: Promise<Uint8Array>[] = [];
    const TOTAL = 20_000;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < TOTAL; i++) {
      sends.push(sidecar.send(new Uint32Array([i]), { type: 1 }));
      if (i === TOTAL / 2) {
        requests.push(sidecar.request('in flight'));
        process.kill(firstPid, 'SIGKILL');
      }
    }
    const exit = await exited;
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(exit.restarting, true);
    // With a restart policy a request pending at the crash is answered by the restarted sidecar.
    for (const r of requests) assert.equal(new TextDecoder().decode(await r), 'in flight');
    await Promise.all(sends);
    assert.ok(await eventually(() => seen.size === TOTAL, 20_000), `every command was processed (${seen.size} of ${TOTAL})`);
    assert.notEqual(sidecar.pid, firstPid);
    assert.equal(restarts.length, 1);
    // Finished commands are never delivered again; only the one inside process() at the kill may be (redelivered).
    assert.ok(order.length <= TOTAL + 1, `${order.length - TOTAL} commands were processed twice`);
    let i = 0;
    for (const seq of order) if (seq === i) i++;
    assert.equal(i, TOTAL, 'commands were processed in the order they were sent');
    assert.equal(new TextDecoder().decode(await sidecar.request('alive')), 'alive');
    assert.equal((await sidecar.stop()).reason, 'stopped');
    assert.ok(!processExists(firstPid));
  });

  test('a hung plugin is found by the watchdog and killed; the redelivered hang is quarantined; the restart policy gives up after maxRestarts', async () => {
    const sidecar = await Sidecar.start({
      plugin: testPlugin('faulty'),
      mode: 'process',
      watchdog: { timeoutMs: 200 },
      restart: { maxRestarts: 1, backoffMs: 1 },
    });
    const exits: SidecarExit[] = [];
    sidecar.on('exit', (e: SidecarExit) => exits.push(e));
    try {
      const hung = sidecar.request('hang', { type: HANG });
      // Killed by the watchdog, redelivered once to the restarted process, where it hangs again: quarantined.
      await assert.rejects(hung, { code: 'ERR_SIDECAR_POISON' });
      assert.equal(exits.length, 2);
      for (const exit of exits) {
        assert.equal(exit.reason, 'watchdog');
        assert.equal(exit.signal, 'SIGKILL');
        assert.equal(exit.restarting, true);
      }
      assert.equal(new TextDecoder().decode(await sidecar.request('alive')), 'alive');
      // The poison used the one restart the policy allows only once: the next hang is the end.
      const last = sidecar.request('hang again', { type: HANG });
      await assert.rejects(last, { code: 'ERR_SIDECAR_CRASHED' });
      assert.ok(await eventually(() => exits.length >= 3, 15_000), 'the third hang was detected');
      assert.equal(exits[2]!.reason, 'watchdog');
      assert.equal(exits[2]!.restarting, false);
      await assert.rejects(sidecar.request('x'), { code: 'ERR_SIDECAR_CRASHED' });
    } finally {
      await sidecar.stop({ timeout: 500 });
    }
  });

  test('stop() kills a sidecar process that does not finish in time', async () => {
    const sidecar = await Sidecar.start({ plugin: testPlugin('faulty'), mode: 'process' });
    const pid = sidecar.pid;
    await sidecar.send('hang', { type: HANG });
    const exit = await sidecar.stop({ timeout: 200 });
    assert.equal(exit.reason, 'stop-timeout');
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(await eventually(() => !processExists(pid)));
  });
});

describe('sidecar watchdog in thread mode', () => {
  test('a plugin call running longer than the watchdog timeout is reported as an error event', async () => {
    // The lifecycle plugin never hangs; simulate a long call with the hash plugin and a huge round count.
    const rounds = 3_000_000;
    const sidecar = await Sidecar.start({
      plugin: examplePluginPath('hash'),
      mode: 'thread',
      config: new Uint8Array(new Uint32Array([rounds]).buffer),
      watchdog: { timeoutMs: 20 },
    });
    const errors: { code?: string }[] = [];
    sidecar.on('error', (e: { code?: string }) => errors.push(e));
    const digest = await sidecar.request('slow');
    assert.equal(digest.byteLength, 32);
    await sidecar.stop();
    assert.ok(errors.length >= 1, 'the long call was reported');
    assert.equal(errors[0]!.code, 'ERR_TIMEOUT');
  });
});
