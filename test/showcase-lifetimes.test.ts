import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InteropError } from '../src/showcase/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
import { BINDING_NAMES, tick, withBinding } from './helpers/showcase-bindings.js';

for (const name of BINDING_NAMES) {
  describe(`callback lifetimes through the ${name} binding`, () => {
    test('calling a released callback throws ERR_CALLBACK_RELEASED and calls nothing', () =>
      withBinding(name, (binding) => {
        let calls = 0;
        const callback = binding.registerMessageCallback(() => calls++);
        binding.sayHello(callback);
        callback.release();
        assert.equal(callback.released, true);
        for (const attempt of [() => binding.sayHello(callback), () => binding.say(callback, 'x')]) {
          assert.throws(attempt, (e) => e instanceof InteropError && e.code === 'ERR_CALLBACK_RELEASED' && /released/.test(e.message));
        }
        assert.equal(calls, 1);
      }));

    test('a registered callback stays alive while native code holds it, even with no JS reference left', () =>
      withBinding(name, async (binding) => {
        const seen: string[] = [];
        // Only the handle number survives this scope: the function and its handle object become garbage for JS.
        const id = ((): number => binding.registerMessageCallback((m) => seen.push(m)).id)();
        for (let i = 0; i < 3; i++) {
          gc();
          await tick();
        }
        binding.sayHello(id);
        assert.deepEqual(seen, ['Hello World from Native C++!']);
      }));

    test('releasing twice is harmless', () =>
      withBinding(name, (binding) => {
        const callback = binding.registerValueCallback((v) => v);
        callback.release();
        callback.release();
        assert.throws(() => binding.callValue(callback, 1), { code: 'ERR_CALLBACK_RELEASED' });
      }));

    test('a stale handle stays invalid after its slot is reused by a new registration', () =>
      withBinding(name, (binding) => {
        const seen: string[] = [];
        const old = binding.registerMessageCallback(() => seen.push('old'));
        const oldId = old.id;
        old.release();
        // Fill many slots so that the old slot is certainly reused.
        const fresh = Array.from({ length: 50 }, () => binding.registerMessageCallback(() => seen.push('new')));
        assert.throws(() => binding.sayHello(oldId), { code: 'ERR_CALLBACK_RELEASED' });
        assert.deepEqual(seen, []);
        binding.sayHello(fresh[0]!);
        assert.deepEqual(seen, ['new']);
        fresh.forEach((c) => c.release());
      }));

    test('handle numbers that were never issued are refused, not dereferenced', () =>
      withBinding(name, (binding) => {
        for (const forged of [0, -1, 1, 255, 0x7fffffff, 0x12345678, -0x80000000]) {
          assert.throws(() => binding.sayHello(forged), { code: 'ERR_CALLBACK_RELEASED' }, `handle ${forged}`);
        }
      }));

    test('releasing a callback while a native thread calls it stops the thread with ERR_CALLBACK_RELEASED', () =>
      withBinding(name, async (binding) => {
        let calls = 0;
        const callback = binding.registerValueCallback(() => ++calls);
        const thread = binding.startCallThread(callback, { count: 50_000_000, mode: 'blocking' });
        while (calls < 100) await tick();
        callback.release();
        const report = await thread.join();
        assert.equal(report.failures, 1);
        assert.equal(report.firstError?.code, 'ERR_CALLBACK_RELEASED');
        assert.ok(report.callsOk >= 100);
        // The calls that were already running finished; none arrives afterwards.
        const after = calls;
        for (let i = 0; i < 20; i++) await tick();
        assert.equal(calls, after);
      }));

    test('a callback released by close() is refused afterwards, and so are new registrations', async () => {
      let keep: import('../src/showcase/index.js').CallbackHandle | undefined;
      let bindingRef: import('../src/showcase/index.js').InteropBinding | undefined;
      await withBinding(name, (binding) => {
        bindingRef = binding;
        keep = binding.registerMessageCallback(() => {});
      });
      assert.ok(keep && bindingRef);
      const binding = bindingRef;
      const handle = keep;
      assert.throws(() => binding.sayHello(handle), { code: 'ERR_CALLBACK_RELEASED' });
      assert.throws(() => binding.registerMessageCallback(() => {}), { code: 'ERR_CALLBACK_RELEASED' });
    });

    test('many register/release cycles do not exhaust the handle table', () =>
      withBinding(name, (binding) => {
        for (let i = 0; i < 2000; i++) {
          const callback = binding.registerValueCallback((v) => v + i);
          assert.equal(binding.callValue(callback, 1), i + 1);
          callback.release();
        }
      }));

    test('the table holds at most 255 live callbacks and says so', () =>
      withBinding(name, (binding) => {
        const live = [];
        let error: unknown;
        try {
          for (let i = 0; i < 300; i++) live.push(binding.registerMessageCallback(() => {}));
        } catch (e) {
          error = e;
        }
        assert.ok(error instanceof InteropError, 'registration beyond the table size must fail');
        assert.equal(error.code, 'ERR_SYSTEM');
        assert.ok(live.length <= 255);
        live.forEach((c) => c.release());
        binding.registerMessageCallback(() => {}).release();
      }));
  });
}
