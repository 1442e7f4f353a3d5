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
      await assert.rejects(sidecar.send('x'), { code: 'ERR_SIDECAR_STOPPED' });
      assert.ok(await eventually(() => !processExists(pid)), 'the sidecar process is gone');
      assert.equal((await sidecar.stop()).reason, 'crashed');
    });
  }

  test('kill -9 of the sidecar mid-stream: the host survives, requests reject, the restarted sidecar processes what was pending', async () => {
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
    for (const r of requests) {
      await r.then(
        () => undefined, // answered before the kill landed: allowed
        (error: { code?: string }) => assert.equal(error.code, 'ERR_SIDECAR_CRASHED'),
      );
    }
    await Promise.all(sends);
    assert.ok(await eventually(() => seen.size === TOTAL, 20_000), `every command was processed (${seen.size} of ${TOTAL})`);
    assert.notEqual(sidecar.pid, firstPid);
    assert.equal(restarts.length, 1);
    // At-least-once: a command the dead process had read but not released is processed again; order holds apart
    // from that replay.
    assert.ok(order.length >= TOTAL);
    assert.equal(new TextDecoder().decode(await sidecar.request('alive')), 'alive');
    assert.equal((await sidecar.stop()).reason, 'stopped');
    assert.ok(!processExists(firstPid));
  });

  test('a hung plugin is found by the watchdog and killed; the restart policy gives up after maxRestarts', async () => {
    const sidecar = await Sidecar.start({
      plugin: testPlugin('faulty'),
      mode: 'process',
      watchdog: { timeoutMs: 200 },
      restart: { maxRestarts: 1, backoffMs: 1 },
    });
    const exits: SidecarExit[] = [];
    sidecar.on('exit', (e: SidecarExit) => exits.push(e));
    const hung = sidecar.request('hang', { type: HANG });
    await assert.rejects(hung, { code: 'ERR_SIDECAR_CRASHED' });
    assert.ok(await eventually(() => exits.length >= 1));
    assert.equal(exits[0]!.reason, 'watchdog');
    assert.equal(exits[0]!.signal, 'SIGKILL');
    assert.equal(exits[0]!.restarting, true);
    // The restarted process finds the hanging command still in the ring (it was never released) and hangs again.
    assert.ok(await eventually(() => exits.length >= 2, 15_000), 'the second hang was detected');
    assert.equal(exits[1]!.reason, 'watchdog');
    assert.equal(exits[1]!.restarting, false);
    await assert.rejects(sidecar.request('x'), { code: 'ERR_SIDECAR_STOPPED' });
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
