/**
 * Runs native/test/sanitize.sh: the C tests (ring_test with its stress and park/wake tests, sidecar_claims_test,
 * the ring_vectors round trip) built with clang under ASan+UBSan, and ring_test under TSan; and, as a test of its own,
 * native/test/sanitize-addon.sh: the Node addon rebuilt under ASan+UBSan (build/asan) and a set of the Node test
 * files run against it. Any sanitizer report fails. Skips, saying so, when clang is not installed (.ci/run installs
 * it). See docs/verification.md.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

import { ADDON_PATH_ENV } from '../src/native/addon.js';
import { packageRoot } from './helpers/native-programs.js';
import { haveTool, missingToolMessage } from './helpers/tools.js';

/** Bounds against a hang only: sanitize.sh takes about 35 s, sanitize-addon.sh about 100 s (150 s per file at most). */
const FIVE_MINUTES = 5 * 60 * 1000;
const TEN_MINUTES = 10 * 60 * 1000;
const SANITIZER_TEXT = /(Address|Thread|UndefinedBehavior|Leak)Sanitizer|runtime error:/;

const clang = haveTool('clang');

function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, timeout: number): SpawnSyncReturns<string> {
  return spawnSync('bash', [join(packageRoot, 'native', 'test', script), ...args], {
    encoding: 'utf8',
    timeout,
    maxBuffer: 64 * 1024 * 1024,
    env,
  });
}

test('the C tests pass under ASan+UBSan and TSan with no sanitizer report', { skip: clang ? false : missingToolMessage(['clang']) }, () => {
  // SANITIZE_ADDON=0: the addon stage of sanitize.sh is the next test.
  const run = runScript('sanitize.sh', [join(packageRoot, 'build', 'sanitize')], { ...process.env, SANITIZE_ADDON: '0' }, FIVE_MINUTES);
  assert.equal(run.error, undefined, `sanitize.sh could not run: ${String(run.error)}`);
  const output = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.doesNotMatch(run.stderr, SANITIZER_TEXT, output);
  assert.equal(run.status, 0, output);
  assert.match(run.stdout, /== no sanitizer report/, output);
});

test('the Node addon built under ASan+UBSan passes the addon-heavy Node tests with no sanitizer report', { skip: clang ? false : missingToolMessage(['clang']) }, () => {
  const env = { ...process.env };
  delete env[ADDON_PATH_ENV]; // the script sets it to its own build
  const run = runScript('sanitize-addon.sh', [join(packageRoot, 'build', 'asan')], env, TEN_MINUTES);
  assert.equal(run.error, undefined, `sanitize-addon.sh could not run: ${String(run.error)}`);
  const output = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.doesNotMatch(run.stderr, SANITIZER_TEXT, output);
  assert.equal(run.status, 0, output);
  assert.match(run.stdout, /== \d+ test files, \d+ tests passed .* no sanitizer report/, output);
});
