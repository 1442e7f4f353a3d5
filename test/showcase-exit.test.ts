import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BINDING_NAMES } from './helpers/showcase-bindings.js';

const CHILD = fileURLToPath(new URL('./helpers/showcase-child.js', import.meta.url));
const TIMEOUT_MS = 30_000;

function runChild(scenario: string, binding: string) {
  const child = spawnSync(process.execPath, [CHILD, scenario, binding], { timeout: TIMEOUT_MS, encoding: 'utf8' });
  return { status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr, error: child.error };
}

for (const name of BINDING_NAMES) {
  describe(`process exit through the ${name} binding`, () => {
    test('process.exit() with live callbacks and running native threads exits cleanly (no abort, no signal)', () => {
      const child = runChild('exit-live-threads', name);
      assert.equal(child.error, undefined, `the child hung: ${child.stderr}`);
      assert.equal(child.signal, null, `the child died of ${child.signal}: ${child.stderr}`);
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, /"calls":true/);
    });

    test('after close() nothing keeps the event loop alive and the process ends by itself', () => {
      const child = runChild('exit-natural', name);
      assert.equal(child.error, undefined, `the child did not end: ${child.stderr}`);
      assert.equal(child.signal, null, child.stderr);
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, /"callsOk":1000/);
    });

    test('an uncaught exception while native threads call in ends the process with code 1, not an abort', () => {
      const child = runChild('uncaught-live-threads', name);
      assert.equal(child.error, undefined, `the child hung: ${child.stderr}`);
      assert.equal(child.signal, null, `the child died of ${child.signal}: ${child.stderr}`);
      assert.equal(child.status, 1, child.stderr);
      assert.match(child.stderr, /uncaught on purpose/);
    });

    test('an uncaught exception while a join is pending and the thread calls into JS exits instead of hanging', () => {
      // Regression: a join that blocked a libuv pool thread hung the exit, because libuv joins its pool at exit.
      const child = runChild('uncaught-during-join', name);
      assert.equal(child.error, undefined, `the child hung at exit: ${child.stderr}`);
      assert.equal(child.signal, null, `the child died of ${child.signal}: ${child.stderr}`);
      assert.equal(child.status, 1, child.stderr);
    });
  });
}
