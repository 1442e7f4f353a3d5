/**
 * Model-checks the park/wake handshake of docs/wire-format.md §5.1 (native/model/parkwake.pml) with spin through
 * native/model/check.sh: no overrun (assertions), no deadlock (invalid end states), no lost wake-up (LTL, weak
 * fairness). Then checks that the checker would catch the bugs the handshake exists to prevent: each bug variant of
 * the model must fail. Skips, saying so, when spin or gcc is not installed (.ci/run installs spin).
 * See docs/verification.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { packageRoot } from './helpers/native-programs.js';
import { haveTool, missingToolMessage } from './helpers/tools.js';

const TWO_MINUTES = 2 * 60 * 1000; // a bound against a hang only: each run takes about 3 s

const skip = haveTool('spin', ['-V']) && haveTool('gcc') ? false : missingToolMessage(['spin', 'gcc']);

function check(defines: string[]): { status: number | null; output: string } {
  const run = spawnSync('bash', [join(packageRoot, 'native', 'model', 'check.sh'), ...defines], {
    encoding: 'utf8',
    timeout: TWO_MINUTES,
  });
  assert.equal(run.error, undefined, `check.sh could not run: ${String(run.error)}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('the park/wake model (spin)', { skip }, () => {
  for (const defines of [[], ['-DN=6', '-DCAP=3']]) {
    test(`holds: no overrun, no deadlock, no lost wake-up ${defines.join(' ') || '(N=4, CAP=2)'}`, () => {
      const { status, output } = check(defines);
      assert.match(output, /safety: errors: 0/, output);
      assert.match(output, /liveness: errors: 0/, output);
      assert.doesNotMatch(output, /max search depth too small/, output);
      assert.equal(status, 0, output);
    });
  }

  const bugs: [string, RegExp][] = [
    ['BUG_NO_RECHECK', /invalid end state/], // a lost wake-up shows as both sides asleep
    ['BUG_NO_SEQ_INC', /invalid end state/],
    ['BUG_SEQ_LATE', /invalid end state/],
    ['BUG_OVERRUN', /assertion violated/],
  ];
  for (const [bug, expected] of bugs) {
    test(`catches the bug variant ${bug}`, () => {
      const { status, output } = check([`-D${bug}`]);
      assert.notEqual(status, 0, `spin accepted the model with ${bug}:\n${output}`);
      assert.match(output, /safety: errors: [1-9]/, output);
      assert.match(output, expected, output);
      if (bug !== 'BUG_OVERRUN') assert.match(output, /liveness: errors: [1-9]/, output); // the LTL property fails too
    });
  }
});
