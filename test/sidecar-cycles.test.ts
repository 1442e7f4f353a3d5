import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sidecar, examplePluginPath } from '../src/index.js';
import { MODES, PARKER_POOL_SLACK, eventually, resourceCounts, type ResourceCounts } from './helpers/sidecar-env.js';

const CYCLES = 100;

for (const mode of MODES) {
  test(`${CYCLES} start/stop cycles in ${mode} mode leave no fd, thread or mapping behind`, async () => {
    const cycle = async (): Promise<void> => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode, commandRingBytes: 4096, eventRingBytes: 4096 });
      await sidecar.request('ping');
      await sidecar.send('event');
      await sidecar.stop();
    };
    // Warm-up: the addon, the parker's waiter threads and V8's code for these paths exist after this.
    for (let i = 0; i < 5; i++) await cycle();
    const before = resourceCounts();
    for (let i = 0; i < CYCLES; i++) await cycle();
    let after: ResourceCounts = resourceCounts();
    const settled = await eventually(() => {
      after = resourceCounts();
      return after.fds <= before.fds && after.threads <= before.threads + PARKER_POOL_SLACK && after.memfdMappings <= before.memfdMappings;
    }, 5000);
    assert.ok(settled, `before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
    // V8 heap pages come and go with garbage collection (and the young generation grows as survivors accumulate), so
    // they are left out (otherMappings); a leak of one mapping per cycle would add 100.
    assert.ok(
      after.otherMappings < before.otherMappings + CYCLES / 4,
      `mappings other than V8 heap pages grew from ${before.otherMappings} to ${after.otherMappings} (all mappings: ${before.mappings} to ${after.mappings})`,
    );
  });
}
