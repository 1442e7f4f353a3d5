/**
 * Member replacement leaves nothing behind (issue 12): 1,000 cancel-kills of a running hang request in a process-mode
 * pool — each kills the member's process and starts a new one — then this process holds the fds, threads and
 * mappings it held before (within the parker's thread slack), and no member process is left running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SidecarPool } from '../src/index.js';
import { PARKER_POOL_SLACK, eventually, processExists, resourceCounts, type ResourceCounts } from './helpers/sidecar-env.js';
import { FAULTY, HANG, decode, deliveryCounter, guardUnhandledRejections, hasCode } from './helpers/pool-env.js';

guardUnhandledRejections();

const KILLS = 1000;

test(`${KILLS} cancel-kills of a running request replace the member's process each time and leak no fd, thread, mapping or process`, { timeout: 600_000 }, async () => {
  const counter = deliveryCounter();
  const pool = await SidecarPool.start({
    plugin: FAULTY, mode: 'process', size: 1, host: counter.host, commandRingBytes: 4096, eventRingBytes: 4096,
  });
  const pids = new Set<number>();
  pool.on('member', (change) => pids.add(change.pid));
  try {
    pids.add(pool.stats().members[0]!.pid);
    const cancelKill = async (): Promise<void> => {
      const controller = new AbortController();
      const started = counter.next('hang');
      const hung = pool.request('hang', { type: HANG, signal: controller.signal });
      await started;
      controller.abort();
      await assert.rejects(hung, hasCode('ERR_ABORTED'));
    };
    // Warm-up: the addon, the parker's waiter threads and V8's code for these paths exist after this.
    for (let i = 0; i < 5; i++) await cancelKill();
    assert.equal(decode(await pool.request('warm')), 'warm');
    const before = resourceCounts();
    for (let i = 0; i < KILLS; i++) await cancelKill();
    assert.equal(decode(await pool.request('alive')), 'alive', 'the pool serves after the kills');
    assert.equal(pool.stats().cancelKills, KILLS + 5);
    assert.equal(counter.counts.get('hang'), KILLS + 5, 'no cancelled request was delivered again');
    assert.ok(pids.size >= KILLS + 5, `every kill started a new process (${pids.size} pids seen)`);

    let after: ResourceCounts = resourceCounts();
    const settled = await eventually(() => {
      after = resourceCounts();
      return after.fds <= before.fds && after.threads <= before.threads + PARKER_POOL_SLACK && after.memfdMappings <= before.memfdMappings;
    }, 10_000);
    assert.ok(settled, `before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
    // V8 heap pages come and go with garbage collection, so they are left out (otherMappings); a leak of one mapping
    // per replacement would add 1,000.
    assert.ok(
      after.otherMappings < before.otherMappings + KILLS / 4,
      `mappings other than V8 heap pages grew from ${before.otherMappings} to ${after.otherMappings} (all mappings: ${before.mappings} to ${after.mappings})`,
    );
    const current = pool.stats().members[0]!.pid;
    const alive = (): number[] => [...pids].filter((pid) => pid !== current && processExists(pid));
    assert.ok(await eventually(() => alive().length === 0), `every killed member process is gone; left: ${alive().join(', ')}`);
  } finally {
    await pool.stop();
  }
});
