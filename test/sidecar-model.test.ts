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
import { readFileSync } from 'node:fs';
import { deliveryProperty, emptyStats, type Stats } from './helpers/delivery-model.js';
import { MODES, PARKER_POOL_SLACK, eventually, resourceCounts, type ResourceCounts } from './helpers/sidecar-env.js';

const RUNS: Record<string, number> = { thread: 150, process: 150 };
const MAX_COMMANDS = 20;

/**
 * /proc/self/maps lines as `start-end perms path`, without V8's heap: anonymous read-write mappings that start on a
 * 256 KiB boundary. That is resourceCounts().otherMappings' filter plus V8's large-object pages (an object over
 * 128 KiB — a long array of this test's records, say — gets a page of its own size, 256 KiB-aligned but not a multiple
 * of it), which come and go with garbage collection. A leaked region is a memfd mapping (counted apart), a leaked
 * thread leaves its stack and guard page at page-aligned addresses, a library has a path: all still counted.
 */
function otherMappingLines(): string[] {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split(/\s+/))
    .filter(([range, perms, , , inode, path]) => {
      if (perms !== 'rw-p' || inode !== '0' || (path !== undefined && path !== '')) return true;
      const start = BigInt(`0x${range!.split('-')[0]!}`);
      return start % 262144n !== 0n;
    })
    .map(([range, perms, , , , path]) => `${range} ${perms} ${path ?? ''}`);
}

function newLines(before: string[], after: string[]): string[] {
  const old = new Set(before);
  return after.filter((l) => !old.has(l));
}

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
    // The resource baseline is taken after the first runs: by then the addon, the plugin, the parker's waiter
    // threads, child_process's machinery and V8's code for these paths exist (a leak per run still shows over the rest).
    const warmRuns = Math.min(10, Math.floor(numRuns / 3));
    let before: ResourceCounts | undefined = warmRuns === 0 ? resourceCounts() : undefined;
    let mapsBefore = warmRuns === 0 ? otherMappingLines() : [];
    let runs = 0;
    const onRun = (): void => {
      if (++runs !== warmRuns) return; // then the baseline
      before = resourceCounts();
      mapsBefore = otherMappingLines();
    };
    const started = Date.now();
    await fc.assert(deliveryProperty({ mode, maxCommands: MAX_COMMANDS, stats, failOnViolation: true, onRun }), {
      seed,
      numRuns,
      ...(path === undefined ? {} : { path }),
      endOnFailure: process.env.MODEL_SHRINK !== '1',
      includeErrorInReport: true,
      verbose: 1,
    });
    t.diagnostic(`${numRuns} runs in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(stats)}`);
    if (before === undefined) return; // a replay of one run: no leak check

    // No fd, mapping or thread left behind by any of the runs (test/helpers/sidecar-env.ts documents the slack).
    let after: ResourceCounts = resourceCounts();
    const settled = await eventually(() => {
      after = resourceCounts();
      return after.fds <= before!.fds && after.threads <= before!.threads + PARKER_POOL_SLACK && after.memfdMappings <= before!.memfdMappings;
    }, 5000);
    assert.ok(settled, `leaked resources: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
    const mapsAfter = otherMappingLines();
    assert.ok(
      mapsAfter.length < mapsBefore.length + (numRuns - warmRuns) / 4 + 2 * PARKER_POOL_SLACK,
      `mappings other than V8's heap grew from ${mapsBefore.length} to ${mapsAfter.length}; new: ${newLines(mapsBefore, mapsAfter).slice(0, 40).join(' | ')}`,
    );
  });
}
