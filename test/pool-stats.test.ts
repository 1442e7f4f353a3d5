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

function assertPercentiles(name: string, p: Percentiles): void {
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
    /**
     * On a pool of 2 members (concurrency 1): 2 slow requests and 3 queued behind them, 20 fast ones, then 2 that fail
     * while running (their timeout fires during the call). Returns the stats seen while the first 5 were in the pool,
     * and once everything settled.
     */
    async function workload(pool: SidecarPool): Promise<{ fresh: PoolStats; busy: PoolStats; done: PoolStats }> {
      const fresh = pool.stats();
      const slow = [pool.request(sleepFor(300, 'a'), { type: SLEEP }), pool.request(sleepFor(300, 'b'), { type: SLEEP })];
      const queued = [0, 1, 2].map((i) => pool.request(`q${i}`));
      const busy = pool.stats();
      await Promise.all([...slow, ...queued]);
      await Promise.all(Array.from({ length: 20 }, (_, i) => pool.request(`fast ${i}`)));
      const failing = [0, 1].map(() => pool.request(sleepFor(400, 'late'), { type: SLEEP, timeout: 50 }));
      for (const f of failing) await assert.rejects(f, hasCode('ERR_TIMEOUT'));
      assert.ok(await eventually(() => pool.stats().inFlight === 0 && pool.stats().members.every((m) => m.state === 'ready')));
      return { fresh, busy, done: pool.stats() };
    }

    test('stats() counts in-flight and queued requests, then completed and failed ones, pool-wide and per member', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, concurrency: 1 });
      try {
        const { fresh, busy, done } = await workload(pool);
        assert.equal(fresh.size, 2);
        assert.equal(fresh.members.length, 2);
        assert.deepEqual([fresh.completed, fresh.failed, fresh.inFlight, fresh.queued], [0, 0, 0, 0]);
        assert.equal(busy.inFlight, 2);
        assert.equal(busy.queued, 3);
        assert.deepEqual(busy.members.map((m) => m.inFlight), [1, 1]);
        assert.equal(done.completed, 25);
        assert.equal(done.failed, 2);
        assert.equal(done.inFlight, 0);
        assert.equal(done.queued, 0);
        assert.equal(done.members.reduce((n, m) => n + m.completed, 0), 25, 'the members completed what the pool did');
        assert.equal(done.members.reduce((n, m) => n + m.failed, 0), 2, 'the two requests that failed on members are counted by their members');
        assert.equal(done.cancelKills, mode === 'process' ? 2 : 0, 'process mode kills a member for each running timeout');
      } finally {
        await pool.stop();
      }
    });

    test('the wait-time and run-time histograms count every request that reached a member, pool-wide and per member', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, concurrency: 1 });
      try {
        const { fresh, done } = await workload(pool);
        assert.equal(fresh.waitTime.count, 0);
        assert.equal(fresh.runTime.count, 0);
        assert.equal(done.waitTime.count, 27, 'waitTime: one per dispatched request');
        assert.equal(done.runTime.count, 27, 'runTime: one per request settled on a member, failed ones included');
        for (const m of done.members) assert.equal(m.runTime.count, m.completed + m.failed, `members[${m.member}].runTime.count`);
      } finally {
        await pool.stop();
      }
    });

    test('percentiles are ordered and never above the max, and utilization stays within 0 … 1', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, concurrency: 1 });
      try {
        const { fresh, busy, done } = await workload(pool);
        for (const s of [fresh, busy, done]) assertUtilization(s);
        assert.ok(done.utilization > 0, 'the members were busy for a while');
        assert.ok(done.elapsedMs > 0);
        assertPercentiles('waitTime', done.waitTime);
        assertPercentiles('runTime', done.runTime);
        for (const m of done.members) assertPercentiles(`members[${m.member}].runTime`, m.runTime);
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
