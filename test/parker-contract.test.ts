/**
 * The Parker contract (src/ring/parker.ts) checked against both mechanisms of NativeParker — 'io_uring'
 * (IORING_OP_FUTEX_WAIT, the event loop polls the ring) and 'thread' (waiter threads) — plus what is particular to
 * the io_uring one: a FUTEX_WAKE-only C peer in another process wakes it, abort-then-unmap is safe, ten thousand
 * random waits all settle, and the fallback is taken when io_uring is refused. test/park-wake.test.ts and
 * test/sidecar-wake.test.ts are also run whole with the thread mechanism forced (they use the default parker).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeParker, SharedRegion, type ParkResult, type WaitPolicy } from '../src/index.js';
import { PARKER_MECHANISM_ENV } from '../src/native/parker.js';
import { loadAddon } from '../src/native/addon.js';
import { nativeExecutable } from '../src/sidecar/paths.js';
import { startProcessPeer } from '../src/testing/peers.js';
import { checkStressRecord, fillStressPayload, STRESS_TYPE } from './helpers/stress-payload.js';
import { assertExitsWithWaitsPending, runNode } from './helpers/run-node.js';

const BOUND = { timeout: 120_000 };
const INDEX_URL = new URL('../src/index.js', import.meta.url).href;
const URING_SUPPORT = loadAddon().uringFutexSupport();
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A deterministic generator, so that a failing stress run can be repeated. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MECHANISMS = [
  { mechanism: 'io_uring', make: () => new NativeParker(), skip: URING_SUPPORT === '' ? false : `io_uring futex waits are not available here: ${URING_SUPPORT}` },
  { mechanism: 'thread', make: () => new NativeParker({ mechanism: 'thread' }), skip: false },
] as const;

for (const { mechanism, make, skip } of MECHANISMS) {
  describe(`NativeParker, mechanism '${mechanism}'`, { skip }, () => {
    test(`uses the '${mechanism}' mechanism`, () => {
      const parker = make();
      assert.equal(parker.mechanism, mechanism, parker.fallbackReason);
      assert.equal(parker.fallbackReason === '', mechanism === 'io_uring');
      parker.close();
    });

    test('resolves not-equal at once when the word does not hold the expected value; compares 32 bits', BOUND, async () => {
      const parker = make();
      const view = new Int32Array(new SharedArrayBuffer(16));
      view[2] = 5;
      assert.equal(await parker.wait(view, 2, 4, -1), 'not-equal');
      view[2] = -1;
      assert.equal(await parker.wait(view, 2, 0xffffffff, 0), 'timed-out', 'expected values are compared as 32 bits');
      assert.equal(await parker.wait(view, 2, -1, 0), 'timed-out');
      parker.close();
    });

    test('resolves timed-out when nobody wakes it', BOUND, async () => {
      const parker = make();
      const view = new Int32Array(new SharedArrayBuffer(8));
      assert.equal(await parker.wait(view, 0, 0, 20), 'timed-out');
      assert.equal(await parker.wait(view, 1, 0, 0), 'timed-out');
      parker.close();
    });

    test('is woken by a wake of its word on region memory, and not by a wake of another word', BOUND, async () => {
      using region = SharedRegion.create({ size: 4096 });
      const view = new Int32Array(region.buffer, 1024, 4);
      const parker = make();
      let done = false;
      const result = parker.wait(view, 1, 0, -1).finally(() => (done = true));
      for (let i = 0; i < 20; i++) {
        parker.wake(view, 2);
        await tick(1);
      }
      assert.equal(done, false, 'a wake of another word does not end the wait');
      while (!done) {
        parker.wake(view, 1);
        await tick(5);
      }
      assert.equal(await result, 'ok');
      parker.close();
    });

    test('an AbortSignal rejects a pending wait with ERR_ABORTED, right after it started or later', BOUND, async () => {
      const parker = make();
      const view = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 0; i < 200; i++) {
        const controller = new AbortController();
        const pending = parker.wait(view, 0, 0, -1, controller.signal);
        if (i % 2 === 1) await new Promise((r) => setImmediate(r));
        controller.abort(new Error('stop'));
        await assert.rejects(pending, { code: 'ERR_ABORTED' });
      }
      const aborted = AbortSignal.abort();
      await assert.rejects(parker.wait(view, 0, 0, -1, aborted), { code: 'ERR_ABORTED' });
      assert.equal(await parker.wait(view, 0, 1, -1), 'not-equal', 'the parker still works');
      parker.close();
    });

    test('150 concurrent waits on one word (more than the 64 io_uring slots) are all woken by wakes of it', BOUND, async () => {
      const parker = make();
      const view = new Int32Array(new SharedArrayBuffer(4));
      let settled = 0;
      const waits = Array.from({ length: 150 }, () => parker.wait(view, 0, 0, -1).finally(() => settled++));
      while (settled < waits.length) {
        parker.wake(view, 0);
        await tick(2);
      }
      assert.deepEqual(new Set(await Promise.all(waits)), new Set(['ok']));
      parker.close();
    });

    test('close rejects every pending wait with ERR_INVALID_STATE and refuses new ones', BOUND, async () => {
      const parker = make();
      const view = new Int32Array(new SharedArrayBuffer(8));
      const pending = Array.from({ length: 70 }, (_, i) => parker.wait(view, i % 2, 0, -1));
      await tick(5);
      parker.close();
      for (const p of pending) await assert.rejects(p, { code: 'ERR_INVALID_STATE' });
      await assert.rejects(parker.wait(view, 0, 0, -1), { code: 'ERR_INVALID_STATE' });
      parker.close(); // idempotent
    });

    test('bad arguments reject with ERR_INVALID_ARG naming the argument and leave the parker usable', BOUND, async () => {
      const parker = make();
      const view = new Int32Array(4);
      await assert.rejects(parker.wait(view, 9, 0, -1), { code: 'ERR_INVALID_ARG', message: /'index'/ });
      await assert.rejects(parker.wait(view, 0, 2 ** 32, -1), { code: 'ERR_INVALID_ARG', message: /'expected'/ });
      await assert.rejects(parker.wait(view, 0, 0, Number.NaN), { code: 'ERR_INVALID_ARG', message: /'timeoutMs'/ });
      await assert.rejects(parker.wait(new Uint32Array(4) as never, 0, 0, -1), { code: 'ERR_INVALID_ARG', message: /'view'/ });
      await assert.rejects(parker.wait(view, 0, 0, -1, {} as never), { code: 'ERR_INVALID_ARG', message: /'signal'/ });
      assert.equal(await parker.wait(view, 0, 1, -1), 'not-equal');
      parker.close();
    });

    test('a C peer in another process that only calls FUTEX_WAKE wakes a parked consumer (1,000 parked round trips)', BOUND, async () => {
      using region = SharedRegion.create({ size: 65536 });
      const parker = make();
      const PARK: WaitPolicy = { mode: 'park' };
      const out = region.createRing(16384, { waitPolicy: PARK, parker });
      const back = region.createRing(16384, { waitPolicy: PARK, parker });
      const peer = startProcessPeer(region, { mode: 'echo', input: 0, output: 1, batch: 1, waitPolicy: PARK, idleTimeoutMs: 20_000 });
      const payload = new Uint8Array(16);
      for (let seq = 0; seq < 1000; seq++) {
        fillStressPayload(payload, seq);
        assert.equal(out.tryWrite(STRESS_TYPE, payload), true);
        assert.equal(await back.readable({ timeout: 20_000 }), true);
        const record = back.peek();
        assert.ok(record !== null);
        assert.equal(checkStressRecord(record.type, record.payload, seq), null);
        back.release();
      }
      out.closeProducer();
      assert.equal(await back.readable({ timeout: 20_000 }), false);
      const result = await peer.done;
      assert.equal(result.ok, true, result.error ?? '');
      assert.equal(result.records, 1000);
      parker.close();
    });

    test('aborting a wait on region memory and closing the region at once, 500 times, does not crash', BOUND, async () => {
      const parker = make();
      for (let i = 0; i < 500; i++) {
        const region = SharedRegion.create({ size: 4096 });
        const view = new Int32Array(region.buffer, 64, 4);
        const controller = new AbortController();
        const pending = parker.wait(view, i % 4, 0, -1, controller.signal);
        if (i % 3 === 1) await new Promise((r) => setImmediate(r));
        controller.abort();
        region.close(); // the pin defers the unmap until the kernel has left the wait
        await assert.rejects(pending, { code: 'ERR_ABORTED' });
      }
      // A Ring whose region closes while parked: the Ring aborts the parker's wait, then the memory goes.
      for (let i = 0; i < 100; i++) {
        const region = SharedRegion.create({ size: 65536 });
        const ring = region.createRing(4096, { waitPolicy: { mode: 'park' }, parker });
        const readable = ring.readable({ timeout: 10_000 });
        if (i % 2 === 1) await tick(1);
        region.close();
        await assert.rejects(readable, { code: 'ERR_REGION_CLOSED' });
      }
      const view = new Int32Array(new SharedArrayBuffer(4));
      assert.equal(await parker.wait(view, 0, 0, 0), 'timed-out', 'the parker still works');
      parker.close();
    });

    test('closed parkers leave no descriptor (io_uring fd) or thread behind', BOUND, async () => {
      const fds = (): number => readdirSync('/proc/self/fd').length;
      const threads = (): number => readdirSync('/proc/self/task').length;
      const view = new Int32Array(new SharedArrayBuffer(4));
      const warm = make();
      await warm.wait(view, 0, 0, 0);
      warm.close();
      await tick(5);
      const before = { fds: fds(), threads: threads() };
      for (let i = 0; i < 50; i++) {
        const parker = make();
        const pending = parker.wait(view, 0, 0, -1);
        assert.equal(await parker.wait(view, 0, 1, 10), 'not-equal');
        parker.close();
        await assert.rejects(pending, { code: 'ERR_INVALID_STATE' });
      }
      await tick(20); // libuv closes handles (and with them the ring fds) on a later turn of the loop
      assert.equal(fds(), before.fds, 'every io_uring fd was closed');
      assert.ok(threads() <= before.threads, 'every waiter thread was stopped');
    });

    test('a region closed while a wait sleeps on its memory stays mapped until the kernel has left the wait', BOUND, async () => {
      const memfdMappings = (): number => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('/memfd:')).length;
      const parker = make();
      const before = memfdMappings();
      const region = SharedRegion.create({ size: 4096 });
      const view = new Int32Array(region.buffer, 64, 4);
      const controller = new AbortController();
      const pending = parker.wait(view, 0, 0, -1, controller.signal);
      await tick(5);
      region.close(); // without the abort a Ring would do first: the pinned mapping must outlive the sleeping wait
      const whileWaiting = memfdMappings();
      controller.abort(); // first, so that a failed check below does not leave the process waiting forever
      assert.equal(whileWaiting, before + 1, 'the mapping is still there while the kernel may touch it');
      await assert.rejects(pending, { code: 'ERR_ABORTED' });
      for (let i = 0; i < 200 && memfdMappings() !== before; i++) await tick(5); // the unpin follows the kernel's report
      assert.equal(memfdMappings(), before, 'unmapped once the kernel left the wait');
      parker.close();
    });

    test('a wait on a view of a closed region is refused with ERR_INVALID_ARG', BOUND, async () => {
      const parker = make();
      const region = SharedRegion.create({ size: 4096 });
      const view = new Int32Array(region.buffer, 0, 4);
      region.close();
      await assert.rejects(parker.wait(view, 0, 0, -1), { code: 'ERR_INVALID_ARG', message: /'view'/ });
      parker.close();
    });

    test('10,000 waits with random timeouts, aborts and wakes all settle, each once', BOUND, async () => {
      const parker = make();
      const random = prng(mechanism === 'io_uring' ? 11 : 12);
      using region = SharedRegion.create({ size: 4096 });
      const view = new Int32Array(region.buffer, 0, 8);
      const counts: Record<ParkResult | 'aborted', number> = { ok: 0, 'not-equal': 0, 'timed-out': 0, aborted: 0 };
      const TOTAL = 10_000;
      const CONCURRENT = 80; // beyond the 64 io_uring slots: the overflow path runs too
      let started = 0;
      let settled = 0;
      const startOne = (): void => {
        started++;
        const word = Math.floor(random() * view.length);
        const r = random();
        // A tenth expect a value the word does not hold; the rest wait forever or up to 0–4 ms.
        const expected = r < 0.1 ? Atomics.load(view, word) + 1 : Atomics.load(view, word);
        const timeoutMs = r < 0.55 ? -1 : Math.floor(random() * 5);
        const controller = random() < 0.3 ? new AbortController() : undefined;
        parker.wait(view, word, expected, timeoutMs, controller?.signal).then(
          (result) => counts[result]++,
          (error: { code?: string }) => {
            assert.equal(error.code, 'ERR_ABORTED');
            counts.aborted++;
          },
        ).finally(() => {
          settled++;
          if (started < TOTAL) startOne();
        });
        if (controller !== undefined) {
          const delay = Math.floor(random() * 3);
          if (delay === 0) controller.abort();
          else setTimeout(() => controller.abort(), delay - 1);
        }
      };
      for (let i = 0; i < CONCURRENT; i++) startOne();
      while (settled < TOTAL) {
        // Change a word, then wake it (§5.1 order): every forever-wait without an abort ends on one of these.
        const word = Math.floor(random() * view.length);
        Atomics.add(view, word, 1);
        parker.wake(view, word);
        await tick(random() < 0.5 ? 0 : 1);
      }
      assert.equal(counts.ok + counts['not-equal'] + counts['timed-out'] + counts.aborted, TOTAL, JSON.stringify(counts));
      for (const [result, n] of Object.entries(counts)) assert.ok(n > 0, `some waits ended ${result}: ${JSON.stringify(counts)}`);
      parker.close();
    });

    test('an idle parker does not keep the process alive; a pending wait does until it ends', BOUND, () => {
      const options = mechanism === 'thread' ? "{ mechanism: 'thread' }" : '';
      const idle = runNode(
        `import { NativeParker } from ${JSON.stringify(INDEX_URL)};
         const p = new NativeParker(${options}); const v = new Int32Array(new SharedArrayBuffer(4));
         console.log(await p.wait(v, 0, 0, 5), p.mechanism);`,
      );
      assert.equal(idle.status, 0, idle.stderr);
      assert.equal(idle.stdout.trim(), `timed-out ${mechanism}`);
      const pending = runNode(
        `import { NativeParker } from ${JSON.stringify(INDEX_URL)};
         const p = new NativeParker(${options}); const v = new Int32Array(new SharedArrayBuffer(4));
         p.wait(v, 0, 0, 200).then((r) => console.log(r));`,
      );
      assert.equal(pending.status, 0, pending.stderr);
      assert.equal(pending.stdout.trim(), 'timed-out');
    });

    // Words 0–31 of a region: the header's (not-equal at once, reported during teardown) and zero words (asleep).
  // More than 64 waits: with io_uring, some take threads. Aborted the process before futex.cc's teardown fix.
  test('process.exit and worker termination with 70 waits pending on region memory exit cleanly', BOUND, () => {
      assertExitsWithWaitsPending(INDEX_URL, 'NativeParker', {
        imports: ['SharedRegion'],
        options: mechanism === 'thread' ? "{ mechanism: 'thread' }" : '',
        waits: 'const region = SharedRegion.create({ size: 4096 }); const v = new Int32Array(region.buffer, 0, 32); for (let i = 0; i < 70; i++) p.wait(v, i % 32, 0, -1).catch(() => {});',
      });
    });
  });
}

describe('UringFutexWaiter (the io_uring mechanism\'s native half)', { skip: URING_SUPPORT === '' ? false : URING_SUPPORT }, () => {
  test('a cancel of a wait that ended does not cancel a later wait that reuses its slot', BOUND, async () => {
    const { UringFutexWaiter, futexWake } = loadAddon();
    const waiter = new UringFutexWaiter();
    const view = new Int32Array(new SharedArrayBuffer(16));
    const results: string[] = [];
    let later: Promise<string> | undefined;
    const hold = waiter.wait(view, 0, 0, -1, () => {}); // keeps slot 0 busy
    let tokenC = -1;
    tokenC = waiter.wait(view, 1, 0, -1, (r) => results.push(`C ${r}`));
    waiter.wait(view, 2, 0, -1, (r) => {
      results.push(`A ${r}`);
      // Runs before C's callback, in the same batch: C's slot is free already and this wait takes it.
      later = new Promise((resolve) => waiter.wait(view, 3, 0, 30, resolve));
      waiter.cancel(tokenC); // C ended: this must not touch the wait now in its slot
    });
    await tick(5); // both asleep
    futexWake(view, 2); // A first, then C: their completions arrive in this order, in one turn of the loop
    futexWake(view, 1);
    while (later === undefined || results.length < 2) await tick(1);
    assert.deepEqual(results, ['A ok', 'C ok']);
    assert.equal(await later, 'timed-out', 'the later wait ran to its timeout');
    waiter.cancel(hold);
    while (waiter.pending > 0) await tick(1);
    waiter.close();
  });
});

describe('choosing the mechanism', () => {
  test(`${PARKER_MECHANISM_ENV}=thread forces the thread mechanism for every NativeParker, the default parker included`, BOUND, () => {
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { NativeParker, defaultParker } from ${JSON.stringify(INDEX_URL)};
         const v = new Int32Array(new SharedArrayBuffer(4));
         const p = defaultParker();
         console.log(new NativeParker().mechanism, p.mechanism, await p.wait(v, 0, 1, -1), new NativeParker().fallbackReason);`,
      ],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, [PARKER_MECHANISM_ENV]: 'thread' } },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `thread thread not-equal The environment variable ${PARKER_MECHANISM_ENV} is 'thread'.`);
  });

  test('when seccomp refuses io_uring_setup, the parker falls back to threads, says why, and still parks and wakes', BOUND, () => {
    const r = spawnSync(
      nativeExecutable('deny_syscalls'),
      [
        'iouring',
        process.execPath,
        '--input-type=module',
        '-e',
        `import { NativeParker } from ${JSON.stringify(INDEX_URL)};
         const p = new NativeParker(); const v = new Int32Array(new SharedArrayBuffer(4));
         const woken = p.wait(v, 0, 0, -1);
         const timer = setInterval(() => p.wake(v, 0), 5);
         console.log(JSON.stringify({ mechanism: p.mechanism, reason: p.fallbackReason, result: await woken }));
         clearInterval(timer);`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { mechanism: string; reason: string; result: string };
    assert.equal(out.mechanism, 'thread');
    assert.match(out.reason, /io_uring_setup was refused \(errno 1: Operation not permitted\)/);
    assert.equal(out.result, 'ok');
  });

  test('bad options are refused with ERR_INVALID_ARG naming them', () => {
    assert.throws(() => new NativeParker({ mechanism: 'uring' } as never), { code: 'ERR_INVALID_ARG', message: /'options.mechanism'/ });
    assert.throws(() => new NativeParker({ mechansim: 'thread' } as never), { code: 'ERR_INVALID_ARG', message: /'options'.*mechansim/ });
    assert.throws(() => new NativeParker(7 as never), { code: 'ERR_INVALID_ARG', message: /'options'/ });
    assert.equal(new NativeParker({}).mechanism, URING_SUPPORT === '' ? 'io_uring' : 'thread');
  });

  for (const file of ['park-wake', 'sidecar-wake']) {
    test(`test/${file}.test.ts passes with the thread mechanism forced`, BOUND, () => {
      const path = fileURLToPath(new URL(`./${file}.test.js`, import.meta.url));
      const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=dot', path], {
        encoding: 'utf8',
        timeout: 110_000,
        env: { ...process.env, [PARKER_MECHANISM_ENV]: 'thread' },
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });
  }
});
