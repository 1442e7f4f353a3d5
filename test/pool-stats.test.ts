/**
 * SidecarPool metrics (issue 12): stats() counts completed, failed, in-flight and queued requests, pool-wide and per
 * member; the wait-time and run-time histograms count every request; utilization stays within 0 … 1; the 'stats'
 * event fires every statsIntervalMs while it has a listener and stops when the last one is removed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SidecarPool, type Percentiles, type PoolStats } from '../src/index.js';
import { MODES, eventually, sleep } from './helpers/sidecar-env.js';
import { FAULTY, SLEEP, guardUnhandledRejections, hasCode, sleepFor } from './helpers/pool-env.js';

guardUnhandledRejections();

function assertPercentiles(name: string, p: Percentiles, count: number): void {
  assert.equal(p.count, count, `${name}.count`);
  for (const key of ['p50', 'p99', 'p999', 'max', 'mean'] as const) {
    assert.ok(Number.isFinite(p[key]) && p[key] >= 0, `${name}.${key} is a finite number of ms ≥ 0: ${p[key]}`);
  }
  assert.ok(p.p50 <= p.p99 && p.p99 <= p.p999 && p.p999 <= p.max, `${name} percentiles are ordered: ${JSON.stringify(p)}`);
}

function assertUtilization(stats: PoolStats): void {
  assert.ok(stats.utilization >= 0 && stats.utilization <= 1, `pool utilization ${stats.utilization}`);
  for (const m of stats.members) assert.ok(m.utilization >= 0 && m.utilization <= 1, `member ${m.member} utilization ${m.utilization}`);
}

for (const mode of MODES) {
  describe(`pool stats (${mode} mode)`, () => {
    test('stats() counts in-flight and queued requests, then completed and failed ones, and its histograms count every request', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, concurrency: 1 });
      try {
        const fresh = pool.stats();
        assert.equal(fresh.size, 2);
        assert.equal(fresh.members.length, 2);
        assert.deepEqual([fresh.completed, fresh.failed, fresh.inFlight, fresh.queued], [0, 0, 0, 0]);
        assertPercentiles('waitTime', fresh.waitTime, 0);
        assertUtilization(fresh);

        const slow = [pool.request(sleepFor(300, 'a'), { type: SLEEP }), pool.request(sleepFor(300, 'b'), { type: SLEEP })];
        const queued = [0, 1, 2].map((i) => pool.request(`q${i}`));
        const busy = pool.stats();
        assert.equal(busy.inFlight, 2);
        assert.equal(busy.queued, 3);
        assert.deepEqual(busy.members.map((m) => m.inFlight), [1, 1]);
        await Promise.all([...slow, ...queued]);

        await Promise.all(Array.from({ length: 20 }, (_, i) => pool.request(`fast ${i}`)));
        // Two requests fail while running on the members (their timeout fires during the 400 ms sleep).
        const failing = [0, 1].map(() => pool.request(sleepFor(400, 'late'), { type: SLEEP, timeout: 50 }));
        for (const f of failing) await assert.rejects(f, hasCode('ERR_TIMEOUT'));
        assert.ok(await eventually(() => pool.stats().inFlight === 0 && pool.stats().members.every((m) => m.state === 'ready')));

        const stats = pool.stats();
        assert.equal(stats.completed, 25);
        assert.equal(stats.failed, 2);
        assert.equal(stats.queued, 0);
        assert.equal(stats.members.reduce((n, m) => n + m.completed, 0), 25, 'the members completed what the pool did');
        assert.equal(stats.members.reduce((n, m) => n + m.failed, 0), 2);
        assertPercentiles('waitTime', stats.waitTime, 27);
        assertPercentiles('runTime', stats.runTime, 27);
        for (const m of stats.members) assertPercentiles(`members[${m.member}].runTime`, m.runTime, m.completed + m.failed);
        assertUtilization(stats);
        assert.ok(stats.utilization > 0, 'the members were busy for a while');
        assert.ok(stats.elapsedMs > 0);
        assert.equal(stats.cancelKills, mode === 'process' ? 2 : 0, 'process mode kills a member for each running timeout');
      } finally {
        await pool.stop();
      }
    });

    test("the 'stats' event fires while a listener is attached and stops when it is removed", async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 1, statsIntervalMs: 20 });
      try {
        const seen: PoolStats[] = [];
        const listener = (s: PoolStats): void => {
          seen.push(s);
        };
        pool.on('stats', listener);
        await pool.request('x');
        assert.ok(await eventually(() => seen.length >= 3), `stats events arrived: ${seen.length}`);
        for (const s of seen) {
          assert.equal(s.size, 1);
          assert.ok(Array.isArray(s.members));
          assertUtilization(s);
        }
        assert.ok(await eventually(() => seen.some((s) => s.completed === 1)), 'a later event reflects the completed request');
        pool.off('stats', listener);
        const count = seen.length;
        // Many intervals pass: a wrong timer would have emitted again.
        await sleep(200);
        assert.equal(seen.length, count, 'no stats event after the listener was removed');
        // A new listener starts them again.
        const again = new Promise<PoolStats>((resolve) => pool.once('stats', resolve));
        assert.equal((await again).size, 1);
      } finally {
        await pool.stop();
      }
    });
  });
}
