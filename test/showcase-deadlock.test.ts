import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BINDING_NAMES } from './helpers/showcase-bindings.js';

const CHILD = fileURLToPath(new URL('./helpers/showcase-child.js', import.meta.url));
/** A hang is what the guard prevents: the child is killed after this and the test fails. */
const TIMEOUT_MS = 30_000;

function runChild(scenario: string, binding: string): { outcome: Record<string, unknown>; status: number | null; signal: string | null; stderr: string } {
  const child = spawnSync(process.execPath, [CHILD, scenario, binding], { timeout: TIMEOUT_MS, encoding: 'utf8' });
  assert.notEqual(child.error?.message.includes('ETIMEDOUT'), true, `the child hung (killed after ${TIMEOUT_MS} ms): ${child.stderr}`);
  const line = child.stdout.trim().split('\n').pop() ?? '';
  let outcome: Record<string, unknown> = {};
  try {
    outcome = JSON.parse(line) as Record<string, unknown>;
  } catch {
    // leave empty; the assertions below report stdout/stderr
  }
  return { outcome, status: child.status, signal: child.signal, stderr: child.stderr };
}

for (const name of BINDING_NAMES) {
  describe(`the deadlock guard through the ${name} binding`, () => {
    test('a blocking call while JS is blocked in join() fails with ERR_DEADLOCK instead of hanging', () => {
      const { outcome, status, signal, stderr } = runChild('deadlock-delayed', name);
      assert.equal(signal, null, stderr);
      assert.equal(status, 0, stderr);
      // The thread waits 100 ms before its call, so JS is normally blocked in join() by then: the call is refused.
      // On a very loaded machine the call may start first; then join() is the side that refuses to wait.
      const refused = outcome.threadError === 'ERR_DEADLOCK' || outcome.joinError === 'ERR_DEADLOCK';
      assert.ok(refused, `expected ERR_DEADLOCK on one side, got ${JSON.stringify(outcome)}`);
    });

    test('joining while the thread is already waiting for JS fails with ERR_DEADLOCK, and the thread can still be joined', () => {
      const { outcome, status, signal, stderr } = runChild('deadlock-race', name);
      assert.equal(signal, null, stderr);
      assert.equal(status, 0, stderr);
      // A million back-to-back blocking calls: whichever side notices first, one of them reports the deadlock,
      // and the thread always ends (the child printed its report).
      const refused = outcome.threadError === 'ERR_DEADLOCK' || outcome.joinError === 'ERR_DEADLOCK';
      assert.ok(refused, `expected ERR_DEADLOCK on one side, got ${JSON.stringify(outcome)}`);
    });
  });
}
