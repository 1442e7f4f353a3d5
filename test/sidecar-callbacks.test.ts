// Host callbacks that throw: each is reported as an 'error' event, a SidecarError ERR_CALLBACK_THREW naming the
// callback with the exception as its cause, and the sidecar goes on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Sidecar, SidecarError, type SidecarHost } from '../src/index.js';
import { MODES, testPlugin } from './helpers/sidecar-env.js';

const CALLBACKS = ['init', 'process', 'event', 'log', 'dispose'] as const;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function assertThrewError(error: unknown, name: string, thrown: unknown): void {
  assert.ok(error instanceof SidecarError, `a SidecarError: ${String(error)}`);
  assert.equal(error.code, 'ERR_CALLBACK_THREW');
  assert.equal(error.message, `The host callback 'host.${name}' threw: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  assert.equal(error.cause, thrown);
}

for (const mode of MODES) {
  describe(`host callbacks that throw, ${mode} mode`, () => {
    for (const name of CALLBACKS) {
      test(`an exception of host.${name} is an 'error' event ERR_CALLBACK_THREW with the exception as its cause, and the sidecar goes on`, async () => {
        const thrown = new Error(`boom from ${name}`);
        const called: string[] = [];
        const host: SidecarHost = {};
        for (const callback of CALLBACKS) {
          (host as Record<string, () => void>)[callback] = () => {
            called.push(callback);
            if (callback === name) throw thrown;
          };
        }
        // The lifecycle plugin: init emits event 100, each command logs a line and is echoed (a request replied to),
        // dispose emits event 101. host.process makes the sidecar report every command.
        const sidecar = await Sidecar.start({ plugin: testPlugin('lifecycle'), mode, host });
        const errors: unknown[] = [];
        sidecar.on('error', (error) => errors.push(error)); // as soon as start() resolved: init's error comes after
        const events: number[] = [];
        sidecar.on('event', (id) => events.push(id));
        await sidecar.send('a', { type: 7 });
        assert.equal(new TextDecoder().decode(await sidecar.request('b', { type: 8 })), 'b', 'requests are still answered');
        const exit = await sidecar.stop();
        await nextTurn();
        assert.equal(exit.reason, 'stopped');
        for (const callback of CALLBACKS) assert.ok(called.includes(callback), `host.${callback} was called`);
        assert.deepEqual(events, [7, 101], "'event' listeners got the events (the command's, dispose's) even when host.event threw on them");
        assert.ok(errors.length >= 1, `host.${name} threw at least once: ${called.join(', ')}`);
        assert.equal(errors.length, called.filter((c) => c === name).length, 'one error per throw');
        for (const error of errors) assertThrewError(error, name, thrown);
      });
    }
  });
}

describe('host callbacks that throw, without an error listener', () => {
  test('a callback that throws something other than an Error is a process warning ERR_CALLBACK_THREW, never a crash', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const sidecar = await Sidecar.start({
        plugin: testPlugin('lifecycle'),
        host: {
          event: (id) => {
            if (id === 5) throw 'a string, not an Error'; // eslint-disable-line no-throw-literal
          },
        },
      });
      await sidecar.send('x', { type: 5 });
      await sidecar.request('y');
      await sidecar.stop();
      await nextTurn();
    } finally {
      process.off('warning', onWarning);
    }
    assert.equal(warnings.length, 1);
    assertThrewError(warnings[0], 'event', 'a string, not an Error');
  });
});
