import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

test('the published types refuse misspelt event names, wrong listener types and unknown options (every @ts-expect-error of test/types is needed)', () => {
  // test/types/*.ts import the package by its name, so this checks dist/*.d.ts as a user's program sees it. An
  // expected error that no longer happens is itself an error (TS2578 "Unused '@ts-expect-error' directive").
  const run = spawnSync(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', 'test/types/tsconfig.json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.signal, null, 'tsc finished within 120 s');
  assert.equal(run.stdout + run.stderr, '', 'tsc reports nothing');
  assert.equal(run.status, 0);
});
