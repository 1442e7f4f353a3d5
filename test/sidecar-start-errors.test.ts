import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sidecar, examplePluginPath } from '../src/index.js';
import { MODES, PARKER_POOL_SLACK, eventually, resourceCounts, testPlugin } from './helpers/sidecar-env.js';

const ATTEMPTS = 10; // > PARKER_POOL_SLACK: a thread leaked per failed start would show

for (const mode of MODES) {
  describe(`sidecar start failures in ${mode} mode`, () => {
    const cases: [string, () => string, RegExp][] = [
      ['a missing plugin file', () => '/nonexistent/dir/plugin.so', /does not exist/],
      ['a file that is not a shared library', () => import.meta.filename ?? new URL(import.meta.url).pathname, /could not be loaded/],
      ['a library that does not export ns_plugin_get', () => testPlugin('not_plugin'), /not a native-sidecar plugin.*ns_plugin_get/],
      ['a plugin built for another ABI version', () => testPlugin('bad_abi'), /ABI version 99.*version 1/],
      ['a plugin whose init fails', () => testPlugin('init_fails'), /init failed with code 5: config rejected/],
    ];
    for (const [what, path, message] of cases) {
      test(`${what} makes start() reject with ERR_SIDECAR_START and leaves nothing behind`, async () => {
        const plugin = path();
        // Warm up once so that lazily created process-wide resources (the parker's waiter threads) exist before
        // the baseline is taken.
        await (await Sidecar.start({ plugin: examplePluginPath('echo'), mode })).stop();
        const before = resourceCounts();
        for (let i = 0; i < ATTEMPTS; i++) {
          await assert.rejects(Sidecar.start({ plugin, mode }), (error: Error & { code?: string }) => {
            assert.equal(error.code, 'ERR_SIDECAR_START');
            assert.match(error.message, message);
            return true;
          });
        }
        // A failed start has joined its thread / reaped its process and unmapped its region before it rejects.
        assert.ok(await eventually(() => {
          const now = resourceCounts();
          return now.fds === before.fds && now.threads <= before.threads + PARKER_POOL_SLACK && now.memfdMappings === before.memfdMappings;
        }, 5000), `no fd, thread or mapping leaked: before ${JSON.stringify(before)}, after ${JSON.stringify(resourceCounts())}`);
      });
    }

    test('a failing init passes its return value as errno', async () => {
      await assert.rejects(Sidecar.start({ plugin: testPlugin('init_fails'), mode }), { code: 'ERR_SIDECAR_START', errno: 5 });
    });

    test('a directory is refused before anything starts', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ns-plugin-'));
      try {
        writeFileSync(join(dir, 'x.so'), 'not an ELF file');
        await assert.rejects(Sidecar.start({ plugin: dir, mode }), { code: 'ERR_SIDECAR_START', message: /not a regular file/ });
        await assert.rejects(Sidecar.start({ plugin: join(dir, 'x.so'), mode }), { code: 'ERR_SIDECAR_START', message: /could not be loaded/ });
      } finally {
        rmSync(dir, { recursive: true });
      }
    });
  });
}

describe('sidecar option validation', () => {
  test('bad options are refused with ERR_INVALID_ARG naming the option', async () => {
    const plugin = examplePluginPath('echo');
    await assert.rejects(Sidecar.start(undefined as never), { code: 'ERR_INVALID_ARG', message: /'options'/ });
    await assert.rejects(Sidecar.start({ plugin: '' }), { code: 'ERR_INVALID_ARG', message: /'options.plugin'/ });
    await assert.rejects(Sidecar.start({ plugin, mode: 'fiber' as never }), { code: 'ERR_INVALID_ARG', message: /'options.mode'/ });
    await assert.rejects(Sidecar.start({ plugin, commandRingBytes: 3000 }), { code: 'ERR_INVALID_ARG', message: /'options.commandRingBytes'/ });
    await assert.rejects(Sidecar.start({ plugin, waitPolicy: { mode: 'nap' as never } }), { code: 'ERR_INVALID_ARG', message: /'options.waitPolicy.mode'/ });
    await assert.rejects(Sidecar.start({ plugin, host: { event: 1 as never } }), { code: 'ERR_INVALID_ARG', message: /'options\.host\.event'/ });
    await assert.rejects(Sidecar.start({ plugin, restart: true }), { code: 'ERR_INVALID_ARG', message: /'options\.restart' needs mode 'process'/ });
    await assert.rejects(Sidecar.start({ plugin, watchdog: { timeoutMs: 0 } }), { code: 'ERR_INVALID_ARG', message: /'options.watchdog.timeoutMs'/ });
  });
});
