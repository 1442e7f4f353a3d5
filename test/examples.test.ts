/**
 * Every program in examples/ runs and prints what its header says: each compiled file (.out/examples/*.js) is run by
 * a fresh Node process, must end by itself within 30 s with exit code 0 and print exactly the expected lines. They
 * import 'native-sidecar' — the package itself, by its name (dist/) — exactly as a project that depends on it would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Example {
  /** What it shows (the test's name). */
  shows: string;
  /** Its exact stdout, line by line; a RegExp where a line depends on the machine. */
  prints: (string | RegExp)[];
  /** Other example files it runs itself (not run on their own). */
  runs?: string[];
}

const EXAMPLES: Record<string, Example> = {
  pool: {
    shows: 'the README pool: two process members of the hash plugin, a request cancelled while it runs kills and restarts its member, metrics, a draining stop',
    prints: ['4 digests of 32 bytes from 2 members', 'aborted: ERR_ABORTED', 'member 0 restarted (cancel)', 'stats: 4 completed, 1 failed, 1 cancel kill, run time p99 > 0 ms', 'stopped: 0 dropped'],
  },
  'quick-start': {
    shows: "the README quick start: a process-mode sidecar with the echo plugin, an event, a reply and the events() iterator, with 'error' and 'exit' listeners",
    prints: ['event 7: 9 bytes', 'reply: hello', 'iterated event 7: a command', 'exit: stopped'],
  },
  'shared-region': {
    shows: 'the README shared region: a ring between this process and a child that inherits the memfd as fd 3',
    prints: ['consumer: record 1, Hello from TypeScript!'],
    runs: ['region-consumer'],
  },
  sandboxed: {
    shows: 'the sandbox knobs of docs/security.md: a process-mode sidecar reports its confinement and replies',
    prints: [/^sandbox: landlock ABI \d+, seccomp on, filesystem confined, env LANG$/, 'reply: 32 bytes (a SHA-256 digest)'],
  },
};

const sourceDir = fileURLToPath(new URL('../../examples/', import.meta.url));

for (const [name, example] of Object.entries(EXAMPLES)) {
  test(`examples/${name}.ts (${example.shows}) runs, prints its lines and ends by itself`, () => {
    const script = fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, 'it finished within 30 s (a running sidecar would keep Node alive)');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.split('\n');
    assert.equal(lines.pop(), '', 'the output ends with a newline');
    assert.equal(lines.length, example.prints.length, r.stdout);
    example.prints.forEach((expected, i) => {
      if (typeof expected === 'string') assert.equal(lines[i], expected);
      else assert.match(lines[i] ?? '', expected);
    });
  });
}

test('every program in examples/ is run by this suite', () => {
  const files = readdirSync(sourceDir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
  const covered = Object.entries(EXAMPLES).flatMap(([name, e]) => [name, ...(e.runs ?? [])]).sort();
  assert.deepEqual(files, covered);
});
