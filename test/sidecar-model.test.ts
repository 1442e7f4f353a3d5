/**
 * Model-based fault-injection test of the Sidecar's delivery contract (docs/reliability.md): fast-check generates
 * sequences of send, request (timeouts, abort signals), abort, pause, settle and stop — and in process mode kill -9,
 * plugin crash, crash-once, hang and ring corruption — runs them against a real Sidecar hosting the ledger plugin,
 * and after stop() checks every rule against the plugin's ledger and the promises (test/helpers/delivery-model.ts).
 *
 * Replay a failure with the seed (and path) it prints:
 *   MODEL_SEED=<seed> MODEL_PATH=<path> node --test .out/test/sidecar-model.test.js
 * More runs: MODEL_RUNS=<n> (per mode). Shrinking (slow: every step is a real sidecar) is off unless MODEL_SHRINK=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeliveryHarness, deliveryProperty, emptyStats, type Stats } from './helpers/delivery-model.js';
import { MODES, PARKER_POOL_SLACK, eventually, resourceCounts, type ResourceCounts } from './helpers/sidecar-env.js';

const RUNS: Record<string, number> = { thread: 30, process: 40 };
const MAX_COMMANDS = 20;

function envInt(name: string): number | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : Number(value);
}

for (const mode of MODES) {
  test(`delivery contract, model-based with fault injection, ${mode} mode`, { timeout: 240_000 }, async (t) => {
    const seed = envInt('MODEL_SEED') ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
    const path = process.env.MODEL_PATH;
    const numRuns = envInt('MODEL_RUNS') ?? RUNS[mode]!;
    t.diagnostic(`seed ${seed} (replay: MODEL_SEED=${seed}${path === undefined ? '' : ` MODEL_PATH=${path}`})`);
    const stats: Stats = emptyStats();
    // Warm-up: the addon, the plugin, the parker's waiter threads and V8's code for these paths exist after this.
    for (let i = 0; i < 2; i++) {
      const warm = await DeliveryHarness.create({ mode, restart: undefined, watchdogMs: undefined, commandRingBytes: 1024, eventRingBytes: 1024, maxQueue: undefined, stopTimeoutMs: 5000 }, emptyStats());
      warm.send(50, 16);
      warm.request(50, 16, 0, undefined, 'none');
      const problems = await warm.finish();
      warm.dispose();
      assert.deepEqual(problems, [], 'the warm-up run passes');
    }
    const started = Date.now();
    const before: ResourceCounts = resourceCounts();
    await fc.assert(deliveryProperty({ mode, maxCommands: MAX_COMMANDS, stats, failOnViolation: true }), {
      seed,
      numRuns,
      ...(path === undefined ? {} : { path }),
      endOnFailure: process.env.MODEL_SHRINK !== '1',
      includeErrorInReport: true,
      verbose: 1,
    });
    t.diagnostic(`${numRuns} runs in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(stats)}`);

    // No fd, mapping or thread left behind by any of the runs (test/helpers/sidecar-env.ts documents the slack).
    let after: ResourceCounts = resourceCounts();
    const settled = await eventually(() => {
      after = resourceCounts();
      return after.fds <= before.fds && after.threads <= before.threads + PARKER_POOL_SLACK && after.memfdMappings <= before.memfdMappings;
    }, 5000);
    assert.ok(settled, `leaked resources: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
    assert.ok(
      after.otherMappings < before.otherMappings + numRuns / 4 + 2 * PARKER_POOL_SLACK,
      `mappings other than V8 heap pages grew from ${before.otherMappings} to ${after.otherMappings}`,
    );
  });
}
