import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('examples/sandboxed.ts (the sandbox knobs of docs/security.md) runs, reports its confinement and ends by itself', () => {
  const script = fileURLToPath(new URL('../examples/sandboxed.js', import.meta.url));
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, 'it finished within 30 s (a running sidecar would keep Node alive)');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^sandbox: landlock ABI \d+, seccomp on, filesystem confined, env LANG$/);
  assert.equal(lines[1], 'reply: 32 bytes (a SHA-256 digest)');
});
