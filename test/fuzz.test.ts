/**
 * A bounded libFuzzer pass (native/fuzz/fuzz.sh, 60 s) over the C code a peer's memory reaches: region header and
 * segment table validation, ring attach, positions, reading records (native/fuzz/ring_reader_fuzz.c), from the seed
 * corpus native/fuzz/corpus/. Any crash, sanitizer report or invariant failure fails. Skips, saying so, when clang is
 * not installed (.ci/run installs it). FUZZ_SECONDS overrides the 60 s. See docs/verification.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

import { packageRoot } from './helpers/native-programs.js';
import { haveTool, missingToolMessage } from './helpers/tools.js';

const FIVE_MINUTES = 5 * 60 * 1000; // a bound against a hang only

test('ring_reader_fuzz finds no crash in a bounded run', { skip: haveTool('clang') ? false : missingToolMessage(['clang']) }, () => {
  const out = join(packageRoot, 'build', 'fuzz');
  const run = spawnSync('bash', [join(packageRoot, 'native', 'fuzz', 'fuzz.sh'), out], {
    encoding: 'utf8',
    timeout: FIVE_MINUTES,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(run.error, undefined, `fuzz.sh could not run: ${String(run.error)}`);
  const tail = run.stderr.split('\n').slice(-80).join('\n');
  assert.doesNotMatch(run.stderr, /ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|invariant failed/, tail);
  assert.equal(run.status, 0, `fuzz.sh exited ${String(run.status)}; the crashing input is in ${out}/crash-*\n${tail}`);
  assert.match(run.stderr, /Done \d+ runs/, tail);
});
