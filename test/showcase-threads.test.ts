import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallMode, InteropBinding, ThreadReport } from '../src/showcase/index.js';
import { BINDING_NAMES, fnv1aWords, tick, withBinding } from './helpers/showcase-bindings.js';

const TOTAL_CALLS = 100_000;
const THREADS = 4;

/** Busy work on the JS thread while native threads call in: timers, microtasks and allocation. */
function loadJsThread(): () => void {
  let running = true;
  let sink = 0;
  const spin = () => {
    if (!running) return;
    const junk: number[] = [];
    for (let i = 0; i < 2000; i++) junk.push(i * i);
    sink += junk.length;
    setImmediate(spin);
  };
  setImmediate(spin);
  return () => {
    running = false;
    assert.ok(sink >= 0);
  };
}

interface PerThread {
  values: number[];
  report?: ThreadReport;
}

async function callsFromThreads(binding: InteropBinding, mode: CallMode): Promise<PerThread[]> {
  const perThread: PerThread[] = [];
  const handles = [];
  const threads = [];
  for (let t = 0; t < THREADS; t++) {
    const state: PerThread = { values: [] };
    perThread.push(state);
    const callback = binding.registerValueCallback((value) => {
      state.values.push(value);
      return value ^ 0x5a5a;
    });
    handles.push(callback);
    threads.push(binding.startCallThread(callback, { count: TOTAL_CALLS / THREADS, mode }));
  }
  const stopLoad = loadJsThread();
  try {
    const reports = await Promise.all(threads.map((thread) => thread.join()));
    reports.forEach((report, i) => ((perThread[i] as PerThread).report = report));
    // Fire-and-forget: the last queued calls may still be on their way to the JS thread.
    for (let spins = 0; perThread.some((p) => p.values.length < (p.report?.callsOk ?? 0)) && spins < 100_000; spins++) await tick();
  } finally {
    stopLoad();
    handles.forEach((h) => h.release());
  }
  return perThread;
}

for (const name of BINDING_NAMES) {
  describe(`native threads calling JS through the ${name} binding`, () => {
    for (const mode of ['fire-and-forget', 'blocking'] as const) {
      test(`${TOTAL_CALLS} ${mode} calls from ${THREADS} native threads under load arrive complete and in order`, () =>
        withBinding(name, async (binding) => {
          const perThread = await callsFromThreads(binding, mode);
          const perThreadCalls = TOTAL_CALLS / THREADS;
          const expectedValues = Array.from({ length: perThreadCalls }, (_, i) => i);
          let received = 0;
          for (const { values, report } of perThread) {
            assert.ok(report);
            assert.equal(report.failures, 0, `first error: ${String(report.firstError)}`);
            assert.equal(report.callsOk, perThreadCalls);
            assert.equal(values.length, perThreadCalls);
            received += values.length;
            // Each thread's calls arrive in the order it made them, none lost or duplicated.
            assert.equal(fnv1aWords(values), fnv1aWords(expectedValues));
            // The thread's checksum covers what it sent (fire-and-forget) or the results it got back (blocking).
            const expected = mode === 'blocking' ? expectedValues.map((v) => v ^ 0x5a5a) : expectedValues;
            assert.equal(report.checksum, fnv1aWords(expected));
          }
          assert.equal(received, TOTAL_CALLS);
        }));
    }

    test('a blocking call from a thread sees the JS return value, including negative numbers', () =>
      withBinding(name, async (binding) => {
        const callback = binding.registerValueCallback((v) => -v - 1);
        const report = await binding.startCallThread(callback, { count: 10, mode: 'blocking' }).join();
        callback.release();
        assert.equal(report.callsOk, 10);
        assert.equal(report.checksum, fnv1aWords(Array.from({ length: 10 }, (_, i) => (-i - 1) >>> 0)));
      }));

    test('stop() ends a long-running thread early without error', () =>
      withBinding(name, async (binding) => {
        let calls = 0;
        const callback = binding.registerValueCallback(() => ++calls);
        const thread = binding.startCallThread(callback, { count: 10_000_000, mode: 'blocking' });
        while (calls < 10) await tick();
        thread.stop();
        const report = await thread.join();
        callback.release();
        assert.ok(report.callsOk < 10_000_000);
        assert.equal(report.failures, 0);
        assert.equal(thread.tryJoin(), report);
      }));

    test('tryJoin returns null while the thread runs and the report once it is done', () =>
      withBinding(name, async (binding) => {
        const callback = binding.registerValueCallback((v) => v);
        const thread = binding.startCallThread(callback, { count: 1, mode: 'blocking', delayMs: 50 });
        assert.equal(thread.tryJoin(), null);
        let report: ThreadReport | null = null;
        for (let i = 0; report === null && i < 100_000; i++) {
          await tick();
          report = thread.tryJoin();
        }
        callback.release();
        assert.ok(report);
        assert.equal(report.callsOk, 1);
      }));
  });
}

describe('exceptions and timeouts of calls from native threads', () => {
  test('an exception in a blocking call from a thread is reported to that thread as ERR_CALLBACK_THREW', () =>
    withBinding('napi', async (binding) => {
      const callback = binding.registerValueCallback(() => {
        throw new Error('boom');
      });
      const report = await binding.startCallThread(callback, { count: 5, mode: 'blocking' }).join();
      callback.release();
      assert.equal(report.callsOk, 0);
      assert.equal(report.failures, 1);
      assert.equal(report.firstError?.code, 'ERR_CALLBACK_THREW');
    }));

  test('a blocking call whose JS thread is busy elsewhere fails with ERR_TIMEOUT after its timeout', () =>
    withBinding('napi', async (binding) => {
      const callback = binding.registerValueCallback((v) => v);
      const thread = binding.startCallThread(callback, { count: 1, mode: 'blocking', timeoutMs: 50 });
      // Block the JS thread outside the library (the guard cannot see this) for longer than the timeout.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
      const report = await thread.join();
      callback.release();
      assert.equal(report.firstError?.code, 'ERR_TIMEOUT');
    }));

  test('koffi refuses a call timeout because a relayed call cannot be abandoned', () =>
    withBinding('koffi', (binding) => {
      const callback = binding.registerValueCallback((v) => v);
      assert.throws(() => binding.startCallThread(callback, { count: 1, mode: 'blocking', timeoutMs: 5 }), { code: 'ERR_INVALID_ARG' });
      callback.release();
    }));
});
