/**
 * Deterministic reproductions of the contract violations that test/sidecar-model.test.ts found (seeds in the commit
 * messages of the fixes), with the ledger plugin as the witness of what process() did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { Sidecar, type SidecarExit } from '../src/index.js';
import { LEDGER_REDELIVERED, Ledger } from './helpers/ledger.js';
import { sleep, testPlugin } from './helpers/sidecar-env.js';

const CRASH_ONCE = 3; // ledger.c: segfaults unless the command is flagged redelivered

function command(seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(seq), true);
  return bytes;
}

test('a redelivery stays flagged when the restarted sidecar dies before taking it (its start failed)', async () => {
  const ledger = new Ledger();
  const dir = dirname(ledger.path);
  try {
    // The sandbox may write beneath the ledger directory's parent, so that moving the directory away makes the plugin's
    // init fail (not the sandbox, which would refuse a missing allowed path).
    const sidecar = await Sidecar.start({
      plugin: testPlugin('ledger'),
      mode: 'process',
      config: ledger.path,
      sandbox: { writePaths: [dirname(dir)] },
      restart: { backoffMs: 20 },
    });
    const exits: SidecarExit[] = [];
    sidecar.on('exit', (e: SidecarExit) => {
      exits.push(e);
      // The first restart's init fails (the ledger file cannot be opened), the next one works.
      if (exits.length === 1) renameSync(dir, `${dir}.away`);
      else if (exits.length === 2) renameSync(`${dir}.away`, dir);
    });
    await sidecar.send(command(1, 16), { type: CRASH_ONCE }); // segfaults: it must come back flagged, and then run
    const end = Date.now() + 5000;
    while (Date.now() < end && ledger.poll() === 0) await sleep(10);
    const exit = await sidecar.stop();
    assert.equal(exit.reason, 'stopped');
    assert.deepEqual(
      exits.map((e) => e.signal ?? e.code),
      ['SIGSEGV', 70, 0],
      'one segfault (the first delivery), the failed start (exit code 64 + 6), the stop: the third delivery was flagged',
    );
    assert.equal(ledger.entries.length, 1);
    assert.equal(ledger.entries[0]!.flags & LEDGER_REDELIVERED, LEDGER_REDELIVERED);
  } finally {
    ledger.dispose();
  }
});

test('a withdrawn redelivery is not reported as "withdrawn before the plugin started it": it had started', async () => {
  const ledger = new Ledger();
  try {
    const sidecar = await Sidecar.start({
      plugin: testPlugin('ledger'),
      mode: 'process',
      ...ledger.sidecarOptions('process'),
      eventRingBytes: 1024,
      restart: { backoffMs: 300 },
    });
    void sidecar.send(command(1, 400));
    void sidecar.send(command(2, 400));
    const controller = new AbortController();
    const outcome = sidecar.request(command(3, 400), { signal: controller.signal }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await Promise.resolve(); // the commands are published
    await Promise.resolve();
    // This thread does not read events for a while: the event ring (1 KiB) fills with the two events, and the plugin
    // blocks in reply() for seq 3 — after its ledger write — when the kill lands.
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // busy
    }
    process.kill(sidecar.pid, 'SIGKILL');
    await new Promise((resolve) => sidecar.once('restart', resolve));
    controller.abort(); // during the backoff: seq 3 waits in the fresh ring as the redelivery
    const error = (await outcome) as { code?: string; message?: string } | undefined;
    await sidecar.stop();
    ledger.poll();
    assert.equal(ledger.count(3n), 1, 'the first delivery of seq 3 did its work before the kill');
    assert.equal(error?.code, 'ERR_ABORTED');
    assert.doesNotMatch(error?.message ?? '', /before the plugin started it/);
    assert.match(error?.message ?? '', /had started/);
  } finally {
    ledger.dispose();
  }
});
