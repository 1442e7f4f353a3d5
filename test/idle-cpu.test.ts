/**
 * A parked side costs nothing while idle: no busy loop hides behind "park" or "spin-then-park". CPU time is counted
 * (process.cpuUsage, /proc/<pid>/stat), never wall-clock speed, so a loaded machine cannot make these tests fail;
 * a side that kept spinning would burn most of the idle second and fail them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedRegion, Sidecar, examplePluginPath } from '../src/index.js';
import { startProcessPeer, startThreadPeer } from '../src/testing/peers.js';

const IDLE_MS = 1000;
/** At most this much CPU time (ms) over the idle second: 10 %, far below any spinning thread. */
const MAX_CPU_MS = 100;

function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU time (ms) of the children of this process, from /proc (clock ticks of 10 ms). */
function childrenCpuMs(): number {
  const children = readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  let ticks = 0;
  for (const pid of children) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    ticks += Number(fields[11]) + Number(fields[12]); // utime (14) and stime (15)
  }
  return ticks * 10;
}

async function cpuWhileIdle(measure: () => number): Promise<number> {
  await sleep(100); // let every side finish its spin phase and park
  const before = measure();
  await sleep(IDLE_MS);
  return measure() - before;
}

describe('idle parked sides use no measurable CPU', () => {
  test('a JavaScript consumer parked on an empty ring, with a native thread parked on another', { timeout: 20_000 }, async () => {
    const region = SharedRegion.create({ size: 1 << 20 });
    try {
      const toNative = region.createRing(64 * 1024);
      const fromNative = region.createRing(64 * 1024, { waitPolicy: { mode: 'park' } });
      const peer = startThreadPeer(region, { mode: 'echo', input: 0, output: 1, waitPolicy: { mode: 'park' }, idleTimeoutMs: -1 });
      const pending = fromNative.readable({ timeout: 10_000 });
      const used = await cpuWhileIdle(ownCpuMs);
      assert.ok(used < MAX_CPU_MS, `the process used ${used} ms of CPU in ${IDLE_MS} ms while both sides were parked`);
      toNative.tryWrite(1, new Uint8Array([1, 2, 3]));
      assert.equal(await pending, true, 'the parked consumer still wakes up');
      toNative.closeProducer();
      assert.equal((await peer.done).ok, true);
    } finally {
      region.close();
    }
  });

  test('a native process parked in spin-then-park on an empty ring', { timeout: 20_000 }, async () => {
    const region = SharedRegion.create({ size: 1 << 20 });
    try {
      const toPeer = region.createRing(64 * 1024);
      const peer = startProcessPeer(region, { mode: 'sink', input: 0, waitPolicy: { mode: 'spin-then-park' }, idleTimeoutMs: -1 });
      const used = await cpuWhileIdle(childrenCpuMs);
      assert.ok(used < MAX_CPU_MS, `the peer process used ${used} ms of CPU in ${IDLE_MS} ms while parked`);
      toPeer.tryWrite(1, new Uint8Array(8));
      toPeer.closeProducer();
      const result = await peer.done;
      assert.equal(result.records, 1, 'the parked peer still wakes up and reads');
    } finally {
      region.close();
    }
  });

  for (const mode of ['thread', 'process'] as const) {
    test(`an idle Sidecar in ${mode} mode with the default wait policy`, { timeout: 20_000 }, async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
      try {
        const measure = mode === 'thread' ? ownCpuMs : childrenCpuMs;
        const used = await cpuWhileIdle(measure);
        assert.ok(used < MAX_CPU_MS, `the sidecar used ${used} ms of CPU in ${IDLE_MS} ms while idle`);
        const reply = await sidecar.request(new Uint8Array([7]), { timeout: 5_000 });
        assert.deepEqual([...reply], [7], 'the idle sidecar still answers');
      } finally {
        await sidecar.stop();
      }
    });
  }
});
