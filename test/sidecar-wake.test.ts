import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { Sidecar, examplePluginPath } from '../src/index.js';
import { EXIT_CODE_BASE, EXIT_USAGE } from '../src/sidecar/layout.js';
import { nativeExecutable } from '../src/sidecar/paths.js';
import { MODES, sleep } from './helpers/sidecar-env.js';

const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Descriptors of process `pid` that are eventfds, as fd numbers. */
function eventfds(pid: number | 'self'): number[] {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[eventfd]';
    } catch {
      return false; // closed between readdir and readlink (e.g. the readdir's own descriptor)
    }
  }).map(Number);
}

for (const mode of MODES) {
  describe(`the sidecar's event-ring eventfd in ${mode} mode`, () => {
    test('with the park policy every reply wakes the parked event pump through the eventfd, which stop() closes', { timeout: 60_000 }, async () => {
      const before = eventfds('self').length;
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode, waitPolicy: { mode: 'park' } });
      try {
        // The pump parks without a timeout: a reply that did not write the eventfd would leave the request pending.
        assert.ok(eventfds('self').length > before, 'the host holds an eventfd while the sidecar runs');
        if (mode === 'process') assert.ok(eventfds(sidecar.pid).includes(4), 'the sidecar process inherited the eventfd as fd 4');
        for (let i = 0; i < 20; i++) {
          await sleep(2); // let the runtime and the pump park before each request
          assert.equal(decode(await sidecar.request(`parked ${i}`)), `parked ${i}`);
        }
      } finally {
        await sidecar.stop();
      }
      assert.equal(eventfds('self').length, before, 'stop() closed the eventfd (and thread mode its duplicate)');
    });
  });
}

test('native-sidecar-host refuses a --wake-fd that is not an open descriptor', () => {
  const run = spawnSync(nativeExecutable('native-sidecar-host'), [
    '--fd', '3', '--plugin', examplePluginPath('echo'), '--parent-pid', String(process.pid), '--wake-fd', '999',
  ], { encoding: 'utf8' });
  assert.equal(run.status, EXIT_CODE_BASE + EXIT_USAGE);
  assert.match(run.stderr, /--wake-fd/);
});
