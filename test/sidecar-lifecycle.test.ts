import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Sidecar, examplePluginPath } from '../src/index.js';
import { MODES, testPlugin } from './helpers/sidecar-env.js';

const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

for (const mode of MODES) {
  describe(`sidecar lifecycle in ${mode} mode`, () => {
    test('host callbacks run in the order init, events from init, process, log, event, dispose', async () => {
      const seen: string[] = [];
      const sidecar = await Sidecar.start({
        plugin: testPlugin('lifecycle'),
        mode,
        config: 'cfg',
        host: {
          init: () => seen.push('init'),
          process: (data, type) => seen.push(`process ${type} ${decode(data)}`),
          event: (id, data) => seen.push(`event ${id} ${decode(data)}`),
          log: (level, message) => seen.push(`log ${level} ${message}`),
          dispose: () => seen.push('dispose'),
        },
      });
      assert.deepEqual(seen, ['init', 'event 100 cfg'], 'start() resolves after init and the events init emitted');
      await sidecar.send('a', { type: 7 });
      const reply = await sidecar.request('b', { type: 8 });
      assert.equal(decode(reply), 'b');
      const exit = await sidecar.stop();
      assert.equal(exit.reason, 'stopped');
      assert.deepEqual(seen, [
        'init',
        'event 100 cfg',
        'process 7 a',
        'log 1 processing type 7',
        'event 7 a',
        'process 8 b',
        'log 1 processing type 8',
        'event 101 bye',
        'dispose',
      ]);
    });

    test('stop() drains every command sent before it, then reports a normal exit once', async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
      const ids: number[] = [];
      sidecar.on('event', (id: number) => ids.push(id));
      const exits: unknown[] = [];
      sidecar.on('exit', (e) => exits.push(e));
      for (let i = 1; i <= 500; i++) void sidecar.send(new Uint8Array(16), { type: i });
      const exit = await sidecar.stop();
      assert.equal(ids.length, 500);
      assert.deepEqual(ids, Array.from({ length: 500 }, (_, i) => i + 1));
      assert.equal(exit.reason, 'stopped');
      assert.equal(exits.length, 1);
      assert.equal(await sidecar.stop(), exit, 'stop() is idempotent');
    });

    test('send and request after stop are rejected with ERR_SIDECAR_STOPPED', async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
      await sidecar.stop();
      await assert.rejects(sidecar.send('x'), { code: 'ERR_SIDECAR_STOPPED' });
      await assert.rejects(sidecar.request('x'), { code: 'ERR_SIDECAR_STOPPED' });
    });

    test('await using stops the sidecar when the scope ends', async () => {
      let disposed = false;
      {
        await using sidecar = await Sidecar.start({ plugin: examplePluginPath('demo'), mode, host: { dispose: () => (disposed = true) } });
        await sidecar.request('x');
      }
      assert.equal(disposed, true);
    });
  });
}
