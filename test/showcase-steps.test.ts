import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runShowcase } from '../src/showcase/sections.js';
import { BINDING_NAMES, fnv1aBytes, withBinding } from './helpers/showcase-bindings.js';

function expectedLines(name: string): string[] {
  const hash = fnv1aBytes(new TextEncoder().encode('Hello World from TypeScript!')).toString(16).padStart(8, '0');
  return [
    '--- Ring buffer ---',
    'Producer: Sent text = Hello World from TypeScript!',
    'Consumer: Received text = Hello World from TypeScript!',
    'Producer (native): Sent text = Hello World from Native C++!',
    'Consumer (TypeScript): Received text = Hello World from Native C++!',
    '--- Reverse callbacks ---',
    '[Managed] Hello World from Native C++!',
    '[Managed] Hello World from TypeScript, passed through Native C++!',
    'Native code called the callback 2 times.',
    '--- V-tables ---',
    '[Managed] Hello World from Native C++ via V-Table!',
    '[Managed] 21 + 21 = 42',
    'Host V-table: native code returned 42.',
    'Native V-table v1 (40 bytes): Hello World from the Native V-Table!',
    'Native add(21, 21) = 42',
    'Native multiply(6, 7) = 42',
    `Native fnv1a("Hello World from TypeScript!") = 0x${hash}`,
    '--- Reverse calls from a native thread ---',
    'Fire-and-forget: the native thread made 1000 calls; JS received 1000, in order: true' +
      (name === 'koffi' ? ' (koffi relays every foreign call and the thread waits for it)' : ''),
    'Blocking: the native thread got 1000 results (value * 2 + 1), all correct: true',
    "Deadlock guard: a blocking call while JS is blocked in join() -> the thread's call failed with ERR_DEADLOCK instead of hanging",
    '--- Callback lifetimes ---',
    'Calling a released callback -> ERR_CALLBACK_RELEASED; it ran 1 time before release',
    'Calling the stale handle after a new registration -> ERR_CALLBACK_RELEASED',
  ];
}

for (const name of BINDING_NAMES) {
  describe(`showcase through the ${name} binding`, () => {
    test('the showcase prints every step in the original order', async () => {
      const lines: string[] = [];
      await withBinding(name, (binding) => runShowcase(binding, (line) => lines.push(line)));
      const expected = expectedLines(name);
      // The deadlock line has two correct outcomes: on a loaded machine the thread's call may start before join()
      // blocks, and then join() is the side that fails with ERR_DEADLOCK.
      const deadlock = expected.findIndex((l) => l.startsWith('Deadlock guard'));
      if (lines[deadlock]?.includes('join failed with ERR_DEADLOCK')) {
        expected[deadlock] = 'Deadlock guard: a blocking call while JS is blocked in join() -> join failed with ERR_DEADLOCK instead of hanging';
      }
      assert.deepEqual(lines, expected);
    });

    test('JS calls C: add wraps like int32 and noop returns nothing', () =>
      withBinding(name, (binding) => {
        assert.equal(binding.add(21, 21), 42);
        assert.equal(binding.add(-5, 3), -2);
        assert.equal(binding.add(0x7fffffff, 1), -0x80000000);
        assert.equal(binding.noop(), undefined);
      }));

    test('native code calls a message callback with the fixed and the caller-given message, in order', () =>
      withBinding(name, (binding) => {
        const seen: string[] = [];
        const callback = binding.registerMessageCallback((m) => seen.push(m));
        binding.sayHello(callback);
        binding.say(callback, 'first');
        binding.say(callback, 'ünïcödé ✓');
        binding.sayHello(callback);
        callback.release();
        assert.deepEqual(seen, ['Hello World from Native C++!', 'first', 'ünïcödé ✓', 'Hello World from Native C++!']);
      }));

    test('native code uses the return value of a value callback', () =>
      withBinding(name, (binding) => {
        const args: number[] = [];
        const callback = binding.registerValueCallback((v) => {
          args.push(v);
          return v * 3;
        });
        assert.equal(binding.callValue(callback, 14), 42);
        assert.equal(binding.callValue(callback, -7), -21);
        assert.deepEqual(args, [14, -7]);
        callback.release();
      }));

    test('a repeated native call reaches the callback once per call with the values 0 … n-1', () =>
      withBinding(name, (binding) => {
        const args: number[] = [];
        const callback = binding.registerValueCallback((v) => {
          args.push(v);
          return v + 1;
        });
        const checksum = binding.callValueRepeat(callback, 500);
        callback.release();
        assert.equal(args.length, 500);
        assert.deepEqual(args.slice(0, 3), [0, 1, 2]);
        let h = 0x811c9dc5;
        for (let i = 0; i < 500; i++) for (let k = 0; k < 4; k++) h = Math.imul(h ^ (((i + 1) >>> (8 * k)) & 0xff), 0x01000193) >>> 0;
        assert.equal(checksum, h);
      }));

    test('an exception in a callback called on the JS thread reaches the JS caller unchanged', () =>
      withBinding(name, (binding) => {
        const boom = new Error('boom');
        const callback = binding.registerMessageCallback(() => {
          throw boom;
        });
        assert.throws(() => binding.sayHello(callback), (e) => e === boom);
        // The binding is still usable afterwards.
        const seen: string[] = [];
        const other = binding.registerMessageCallback((m) => seen.push(m));
        binding.say(other, 'after');
        assert.deepEqual(seen, ['after']);
        callback.release();
        other.release();
      }));

    test('the host V-table is called log, add, log with the expected arguments', () =>
      withBinding(name, (binding) => {
        const calls: string[] = [];
        const sum = binding.runHostVTable({
          log: (m) => calls.push(`log ${m}`),
          add: (a, b) => {
            calls.push(`add ${a} ${b}`);
            return a + b;
          },
        });
        assert.equal(sum, 42);
        assert.deepEqual(calls, ['log Hello World from Native C++ via V-Table!', 'add 21 21', 'log 21 + 21 = 42']);
      }));

    test('the host V-table logs what its add returns, even a wrong sum', () =>
      withBinding(name, (binding) => {
        const lines: string[] = [];
        const sum = binding.runHostVTable({ log: (m) => lines.push(m), add: () => 41 });
        assert.equal(sum, 41);
        assert.equal(lines[1], '21 + 21 = 41');
      }));

    test('the native V-table calls through its function pointers', () =>
      withBinding(name, (binding) => {
        const table = binding.nativeVTable();
        assert.equal(table.version, 1);
        assert.equal(table.size, 40);
        assert.equal(table.add(40, 2), 42);
        assert.equal(table.multiply(-6, 7), -42);
        const bytes = new TextEncoder().encode('abc');
        assert.equal(table.fnv1a(bytes), fnv1aBytes(bytes));
        assert.equal(table.fnv1a(new Uint8Array(0)), 0x811c9dc5);
        assert.equal(table.describe(), 'Hello World from the Native V-Table!');
        assert.throws(() => table.fnv1a('abc' as unknown as Uint8Array), { code: 'ERR_INVALID_ARG' });
      }));

    test('bad arguments are refused with ERR_INVALID_ARG before reaching native code', () =>
      withBinding(name, (binding) => {
        assert.throws(() => binding.registerMessageCallback('nope' as unknown as () => void), { code: 'ERR_INVALID_ARG' });
        assert.throws(() => binding.add(1.5, 1), { code: 'ERR_INVALID_ARG' });
        const callback = binding.registerMessageCallback(() => {});
        assert.throws(() => binding.say(callback, 'a\0b'), { code: 'ERR_INVALID_ARG' });
        assert.throws(() => binding.say(callback, 42 as unknown as string), { code: 'ERR_INVALID_ARG' });
        assert.throws(() => binding.startCallThread(callback, { count: -1, mode: 'blocking' }), { code: 'ERR_INVALID_ARG' });
        assert.throws(() => binding.startCallThread(callback, { count: 1, mode: 'sometimes' as 'blocking' }), { code: 'ERR_INVALID_ARG' });
        const buffer = new ArrayBuffer(1024);
        assert.throws(() => binding.ringReceiveText({ buffer, byteOffset: 0, byteLength: 2048 }), { code: 'ERR_INVALID_ARG' });
        assert.throws(() => binding.ringReceiveText({ buffer, byteOffset: 900, byteLength: 512 }), { code: 'ERR_INVALID_ARG' });
        callback.release();
      }));

    test('a message callback called as a value callback is refused', () =>
      withBinding(name, (binding) => {
        const callback = binding.registerMessageCallback(() => {});
        assert.throws(() => binding.callValue(callback, 1), { code: 'ERR_INVALID_ARG' });
        callback.release();
      }));
  });
}
