/**
 * Runs the C tests of the sidecar runtime's side of wire-format §8.3 — claim words, the started/completed counters,
 * redelivery — and of the command_flags host service (native/test/sidecar_claims_test.c, built by binding.gyp). The
 * program plays the host by hand (regions in shared memory, claim words written directly), so these tests do not
 * depend on what src/sidecar/sidecar.ts does with the words.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';

import { nativeProgram } from './helpers/native-programs.js';

const ONE_MINUTE = 60 * 1000; // a bound against a hang only: the program runs in well under a second

describe('the sidecar runtime and §8.3 (sidecar_claims_test)', () => {
  test('every claim, counter, redelivery and command_flags test passes', async (t) => {
    const run = spawnSync(nativeProgram('sidecar_claims_test'), [nativeProgram('test_faulty.so')], {
      encoding: 'utf8',
      timeout: ONE_MINUTE,
    });
    assert.equal(run.error, undefined, `sidecar_claims_test could not run: ${String(run.error)}`);
    const lines = run.stdout.trim().split('\n');
    const summary = /^(\d+) passed, (\d+) failed$/.exec(lines.at(-1) ?? '');
    assert.ok(summary, `sidecar_claims_test did not end with its "N passed, N failed" line; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    const results = lines.slice(0, -1).map((line) => /^(ok|not ok) - (.+)$/.exec(line)).filter((m) => m !== null);
    for (const [, status, name] of results) {
      await t.test(name ?? '', () => {
        assert.equal(status, 'ok', `C test failed; sidecar_claims_test stderr:\n${run.stderr}`);
      });
    }
    assert.equal(Number(summary[1]), results.filter((m) => m[1] === 'ok').length);
    assert.equal(Number(summary[2]), 0, `sidecar_claims_test reported failures; stderr:\n${run.stderr}`);
    assert.ok(results.length >= 10);
    assert.equal(run.status, 0);
  });
});
