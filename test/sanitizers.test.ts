/**
 * Runs native/test/sanitize.sh: the C tests (ring_test with its stress and park/wake tests, sidecar_claims_test,
 * the ring_vectors round trip) built with clang under ASan+UBSan, and ring_test under TSan. Any sanitizer report
 * fails. Skips, saying so, when clang is not installed (.ci/run installs it). See docs/verification.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

import { packageRoot } from './helpers/native-programs.js';
import { haveTool, missingToolMessage } from './helpers/tools.js';

const FIVE_MINUTES = 5 * 60 * 1000; // a bound against a hang only: the script takes about 20 s

const clang = haveTool('clang');

test('the C tests pass under ASan+UBSan and TSan with no sanitizer report', { skip: clang ? false : missingToolMessage(['clang']) }, () => {
  const run = spawnSync('bash', [join(packageRoot, 'native', 'test', 'sanitize.sh'), join(packageRoot, 'build', 'sanitize')], {
    encoding: 'utf8',
    timeout: FIVE_MINUTES,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(run.error, undefined, `sanitize.sh could not run: ${String(run.error)}`);
  const output = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.doesNotMatch(run.stderr, /(Address|Thread|UndefinedBehavior|Leak)Sanitizer|runtime error:/, output);
  assert.equal(run.status, 0, output);
  assert.match(run.stdout, /== no sanitizer report/, output);
});
